//! The README's examples are real: its theme and runbook snippets load, and
//! its key table lists every binding.

const README: &str = include_str!("../README.md");

fn toml_blocks() -> Vec<&'static str> {
    README.split("```toml\n").skip(1).filter_map(|rest| rest.split("```").next()).collect()
}

#[test]
fn the_theme_example_loads() {
    let block = toml_blocks().into_iter().find(|b| b.contains("[colors]")).expect("a theme example");
    let theme =
        cutover::theme::Theme::parse("README.md", block, cutover::theme::ColorMode::Ansi16, cutover::theme::UNICODE);
    assert!(theme.is_ok(), "{theme:?}");
}

#[test]
fn the_runbook_example_checks_clean() {
    let block = toml_blocks().into_iter().find(|b| b.contains("[[phase]]")).expect("a runbook example");
    let outline = cutover::runbook::parse("README.md", block);
    assert!(outline.is_ok(), "{outline:?}");
}

#[test]
fn the_key_table_names_every_binding() {
    for binding in cutover::keymap::BINDINGS {
        let first = binding.label.split_whitespace().next().unwrap_or_default();
        assert!(README.contains(&format!("`{first}`")) || README.contains(first), "README lacks key {first}");
    }
    assert!(README.contains("scripts/test"), "the test command");
    assert!(README.contains("cargo run --release -- demo"), "the demo command");
}
