//! The protobuf format: the answer's wire encoding, written raw (etcdctl's `printPB`).

use prost::Message;

use super::Out;

/// Appends `message`'s protobuf encoding.
pub fn message(out: &mut Out, message: &impl Message) {
    out.bytes_raw(&message.encode_to_vec());
}
