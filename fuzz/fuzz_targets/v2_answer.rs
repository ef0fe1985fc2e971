//! The v2 answer parser (`v2/response.rs`): any body under any of the statuses etcd answers
//! keys requests with, with or without `X-Etcd-Index`. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rsetcd::fuzzing::v2_key_answer;

const STATUSES: [u16; 10] = [200, 201, 204, 300, 307, 400, 403, 404, 412, 500];

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let status = STATUSES[usize::from(first) % STATUSES.len()];
    let index = (first & 0x80 != 0).then_some(u64::from(first));
    let _ = v2_key_answer(status, index, body);
});
