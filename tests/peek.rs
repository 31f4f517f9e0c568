mod common;
use cutover::theme::ColorMode;
#[test]
fn peek() {
    for (sc, t) in [("full", 250), ("full", 350), ("lost-replica", 100), ("calm", 262)] {
        let s = common::sim_state(sc, t);
        let th = common::theme("dark", ColorMode::Ansi16, false);
        println!("{sc} {t}\n{}", common::screen(&s, &th, 80, 24));
        println!("{}", common::screen(&s, &th, 160, 48));
    }
}
