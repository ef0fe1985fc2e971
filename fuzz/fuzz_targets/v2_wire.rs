//! The v2 HTTP/1.1 reader (`v2/wire.rs`): any bytes as an answer, handed over a few bytes at a
//! time (the first input byte says how many) and all at once. Never a panic, and the same
//! verdict both ways.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rsetcd::fuzzing::v2_read_answer;

fuzz_target!(|data: &[u8]| {
    let Some((&first, answer)) = data.split_first() else {
        return;
    };
    let step = usize::from(first % 64) + 1;
    let pieces = v2_read_answer(answer, step);
    let whole = v2_read_answer(answer, answer.len());
    match (&pieces, &whole) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "same answer, read in pieces of {step} and whole"),
        (Err(_), Err(_)) => {}
        _ => panic!("read in pieces of {step}: {pieces:?}; whole: {whole:?}"),
    }
});
