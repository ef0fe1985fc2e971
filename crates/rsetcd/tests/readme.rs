//! The front page (the repository's README.md) shows the same programs as the crate's README,
//! whose programs are compiled as doctests (`ReadmeDoctests` in `src/lib.rs`): this keeps the
//! copies equal. The repository README is not in the packaged crate; there, this checks nothing.

use std::path::Path;

/// The bodies of the code blocks whose info string starts with `rust`.
fn rust_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    if info.trim_start().starts_with("rust") {
                        current = Some(String::new());
                    }
                }
            }
            Some(body) => {
                if line.starts_with("```") {
                    blocks.push(std::mem::take(body));
                    current = None;
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    blocks
}

#[test]
fn the_front_page_programs_are_the_crate_readme_s() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let front = crate_dir.join("../../README.md");
    let Ok(front) = std::fs::read_to_string(&front) else {
        return; // the packaged crate: no repository README beside it
    };
    let ours = std::fs::read_to_string(crate_dir.join("README.md")).expect("the crate README");
    let ours = rust_blocks(&ours);
    let theirs = rust_blocks(&front);
    assert!(
        theirs.len() >= 2,
        "the front page shows a v2 and a v3 program"
    );
    for block in &theirs {
        assert!(
            ours.contains(block),
            "a program of README.md is not one of crates/rsetcd/README.md's (keep them equal):\n{block}"
        );
    }
}

#[test]
fn the_crate_readme_has_no_hidden_doctest_lines() {
    // crates.io shows a README as Markdown: rustdoc's hidden `# ` lines would show literally.
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ours = std::fs::read_to_string(crate_dir.join("README.md")).expect("the crate README");
    for block in rust_blocks(&ours) {
        for line in block.lines() {
            assert!(
                line != "#" && !line.trim_start().starts_with("# "),
                "a hidden doctest line in crates/rsetcd/README.md: {line}"
            );
        }
    }
}
