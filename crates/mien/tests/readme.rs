//! The README's library example is the crate documentation's, which `cargo test` compiles
//! with `mien` as the only dependency: the two texts must not drift apart.

#[test]
fn the_readme_example_is_the_compiled_doc_example() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let lib = std::fs::read_to_string(format!("{root}/crates/mien/src/lib.rs")).unwrap();
    let section = readme
        .split("## Using it")
        .nth(1)
        .expect("README has a `## Using it` section");
    let example = section
        .split("```rust\n")
        .nth(1)
        .and_then(|block| block.split("```").next())
        .expect("a rust block in `## Using it`");
    // The doc comment's lines, without `//! ` and without rustdoc's hidden `# ` lines.
    let documented: String = lib
        .lines()
        .filter_map(|line| line.strip_prefix("//!"))
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .filter(|line| !line.starts_with("# "))
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(
        documented.contains(example),
        "README's example is not the doc example of crates/mien/src/lib.rs:\n{example}"
    );
}
