//! The protobuf format: the answer's wire encoding, written raw (etcdctl's `printPB`).

use prost::Message;

use super::Out;

/// Appends `message`'s protobuf encoding.
pub fn message(out: &mut Out, message: &impl Message) {
    out.bytes_raw(&message.encode_to_vec());
}

/// What etcdctl prints for the clientv3 answers that embed `*pb.ResponseHeader` (the lease
/// answers): the header's encoding alone, its `Marshal` being the one Go promotes.
pub fn embedded_header(out: &mut Out, header: Option<&rsetcd::v3::ResponseHeader>) {
    if let Some(h) = header {
        message(out, h);
    }
}
