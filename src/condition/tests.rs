//! The condition language's tests: parsing, types, evaluation, reasons.

use std::collections::HashMap;

use super::*;

/// Gauges by their name in a condition, `lag_bytes(target)`; anything missing is "no data".
struct Fake(HashMap<String, Result<f64, String>>);

fn fake(values: &[(&str, Result<f64, &str>)]) -> Fake {
    Fake(values.iter().map(|(k, v)| ((*k).to_owned(), v.map_err(str::to_owned))).collect())
}

impl Gauges for Fake {
    fn value(&self, gauge: Gauge, endpoint: Option<&str>) -> Result<f64, String> {
        let key = endpoint.map_or_else(|| gauge.name().to_owned(), |e| format!("{}({e})", gauge.name()));
        self.0.get(&key).cloned().unwrap_or_else(|| Err("no data".to_owned()))
    }
}

const MB: f64 = 1024.0 * 1024.0;

fn fails(text: &str) -> (usize, String) {
    let e = parse(text).unwrap_err();
    (e.offset, e.message)
}

fn eval(text: &str, gauges: &Fake) -> (bool, String) {
    let v = parse(text).unwrap().eval(gauges);
    (v.holds, v.reason)
}

fn reach(a: bool, b: bool, c: bool) -> Fake {
    let f = |v: bool| Ok(f64::from(u8::from(v)));
    fake(&[("reachable(a)", f(a)), ("reachable(b)", f(b)), ("reachable(c)", f(c))])
}

const VALID: [&str; 7] = [
    "lag_bytes(target) < 1MB and verify.differences == 0",
    "subscription.tables_ready(target) == subscription.tables(target) and subscription.tables(target) > 0",
    "lag_seconds(replica) <= 5s",
    "disk.free_pct(source) > 20%",
    "not (pool.waiting(bouncer) > 0) or reachable(target)",
    "(pool.used_pct(b-1) < 90 or pool.active(b_2) <= 1_000) and disk.free_bytes(src) >= 1.5GiB",
    "reachable(a) == (lag_seconds(a) < 250ms) and true != false",
];

#[test]
fn examples_parse_and_list_their_endpoints() {
    for text in VALID {
        assert_eq!(parse(text).unwrap().to_string(), text);
    }
    let c = parse(VALID[1]).unwrap();
    assert_eq!((c.text(), c.endpoints()), (VALID[1], vec![("target", 26..32), ("target", 57..63), ("target", 89..95)]));
    assert_eq!(parse("verify.differences == 0").unwrap().endpoints(), vec![]);
    // Swapping a literal behind its gauge does not reorder the endpoints.
    assert_eq!(parse("1MB > lag_bytes(x) and reachable(y)").unwrap().endpoints(), vec![("x", 16..17), ("y", 33..34)]);
}

#[test]
fn units_scale_literals() {
    let literal = |text: &str| match parse(text).unwrap().expr {
        Expr::Compare { right: Num::Lit(v), .. } => v,
        other => panic!("{other:?}"),
    };
    let cases = [
        ("lag_bytes(x) < 1MB", MB),
        ("lag_bytes(x) < 2KiB", 2048.0),
        ("lag_bytes(x) < 1_000", 1000.0),
        ("disk.free_bytes(x) > 1.5GB", 1536.0 * MB),
        ("lag_seconds(x) < 5m", 300.0),
        ("lag_seconds(x) < 2min", 120.0),
        ("lag_seconds(x) < 250ms", 0.25),
        ("lag_seconds(x) < 1d", 86_400.0),
        ("disk.free_pct(x) > 20%", 20.0),
        ("5s > lag_seconds(x)", 5.0),
    ];
    for (text, value) in cases {
        assert!((literal(text) - value).abs() < 1e-9, "{text}");
    }
}

#[test]
fn syntax_errors_point_at_the_token() {
    let units = "use sizes B, kB, MB, GB, TB; durations ms, s, m, h, d; or %";
    let cases = [
        ("", 0, "empty condition".to_owned()),
        ("  \n ", 0, "empty condition".to_owned()),
        ("lag_bytes(x) <", 14, "expected a value after `<`".to_owned()),
        ("lag_bytes(x) < )", 15, "expected a value, found `)`".to_owned()),
        ("not", 3, "expected a value after `not`".to_owned()),
        ("lag_bytes(x) < 1MB and and", 23, "expected a value, found `and`".to_owned()),
        ("lag_bytes(x < 1MB", 12, "missing `)`, found `<`".to_owned()),
        ("(reachable(x)", 13, "missing `)` at the end".to_owned()),
        ("reachable(x))", 12, "unmatched `)`".to_owned()),
        ("reachable(x) reachable(y)", 13, "unexpected `reachable`: join conditions with `and` or `or`".to_owned()),
        ("lag_bytes(x) 1MB", 13, "expected a comparison like `<` or `==`, found `1MB`".to_owned()),
        ("lag_bytes(x) < 1XB", 16, format!("unknown unit `XB`; {units}")),
        ("lag_bytes(x) < 1mb", 16, format!("unknown unit `mb`; {units}")),
        ("lag_bytes(x) < 1 MB", 17, "write the unit right after the number: `1MB`".to_owned()),
        ("disk.free_pct(x) > 20 %", 22, "write `%` right after the number, e.g. `20%`".to_owned()),
        ("lag_bytes(x) < 1.2.3", 15, "`1.2.3` is not a number".to_owned()),
        ("verify.differences = 0", 19, "use `==` to compare".to_owned()),
        ("reachable(a) && reachable(b)", 13, "use `and`, not `&&`".to_owned()),
        ("reachable(a) || reachable(b)", 13, "use `or`, not `||`".to_owned()),
        ("!reachable(a)", 0, "use `not`, not `!`".to_owned()),
        ("reachable(a) AND true", 13, "keywords are lowercase: write `and`".to_owned()),
        ("Not reachable(a)", 0, "keywords are lowercase: write `not`".to_owned()),
        ("lag_seconds(x) < 5s < 10s", 20, "comparisons do not chain: write `a < b and b < c`".to_owned()),
        ("lag_bytes < 1MB", 10, "lag_bytes needs an endpoint, e.g. lag_bytes(target)".to_owned()),
        ("reachable", 9, "reachable needs an endpoint, e.g. reachable(target)".to_owned()),
        ("lag_bytes() < 1", 10, "expected an endpoint name, found `)`".to_owned()),
        ("lag_bytes(", 10, "expected an endpoint name after `(`".to_owned()),
        ("reachable(a.b)", 10, "`a.b` is not an endpoint name (letters, digits, `_`, `-`)".to_owned()),
        ("verify.differences(x) == 0", 18, "verify.differences takes no endpoint".to_owned()),
        ("reachable(x) and é", 17, "unexpected character `é`".to_owned()),
        (&"(".repeat(40), 32, "nested too deeply (more than 32 levels of `(` and `not`)".to_owned()),
    ];
    for (text, offset, message) in cases {
        assert_eq!(fails(text), (offset, message), "{text}");
    }
    let known = "lag_bytes, lag_seconds, oldest_xact_seconds, slot.retained_bytes, pool.waiting, pool.maxwait_seconds, \
                 pool.active, pool.used_pct, disk.free_pct, disk.free_bytes, disk.seconds_to_full, \
                 subscription.tables_ready, subscription.tables, reachable, verify.differences, mongo.state, \
                 mongo.oplog_window_seconds, mysql.read_only, mysql.binlog_bytes, backup.configured, backup.age, \
                 backup.full_age, archive.lag, archive.age, archive.failing, archive.waiting";
    assert_eq!(fails("lag_byte(x) < 1MB"), (0, format!("unknown gauge `lag_byte`; known: {known}")));
    assert_eq!(fails("reachable(x) or pool.wait(b) > 0").0, 16);
}

#[test]
fn type_errors_name_both_sides() {
    let cases = [
        ("lag_bytes(x) < 5s", 15, "`5s` is a duration but lag_bytes(x) is in bytes"),
        ("5s > lag_bytes(x)", 0, "`5s` is a duration but lag_bytes(x) is in bytes"),
        ("lag_seconds(x) < 1MB", 17, "`1MB` is a size but lag_seconds(x) is in seconds"),
        ("pool.waiting(b) > 20%", 18, "`20%` is a percentage but pool.waiting(b) is a count"),
        ("lag_bytes(a) < lag_seconds(a)", 15, "lag_seconds(a) is in seconds but lag_bytes(a) is in bytes"),
        ("1MB < 5s", 6, "`5s` is a duration but `1MB` is a size"),
        ("reachable(a) == 1", 16, "`1` is a number but reachable(a) is true or false"),
        ("lag_bytes(a) == true", 16, "`true` is true or false but lag_bytes(a) is in bytes"),
        (
            "reachable(a) < reachable(b)",
            13,
            "`<` compares numbers, but reachable(a) is true or false; use `==` or `!=`",
        ),
        ("lag_bytes(x)", 0, "lag_bytes(x) is a number: compare it, e.g. lag_bytes(x) < 1MB"),
        ("(lag_seconds(x))", 0, "lag_seconds(x) is a number: compare it, e.g. lag_seconds(x) <= 5s"),
        (
            "reachable(a) and disk.free_pct(a)",
            17,
            "disk.free_pct(a) is a number: compare it, e.g. disk.free_pct(a) > 20%",
        ),
        ("not verify.differences", 4, "verify.differences is a number: compare it, e.g. verify.differences == 0"),
        ("5", 0, "`5` is a number, not a condition"),
        ("true and 5s", 9, "`5s` is a duration, not a condition"),
    ];
    for (text, offset, message) in cases {
        assert_eq!(fails(text), (offset, message.to_owned()), "{text}");
    }
    for ok in ["disk.free_pct(s) > 20", "lag_bytes(x) < 1000", "reachable(a) == reachable(b)", "1 < 2", "true"] {
        assert!(parse(ok).is_ok(), "{ok}");
    }
}

#[test]
fn and_binds_tighter_than_or_and_not_tighter_than_both() {
    let or_and = "reachable(a) or reachable(b) and reachable(c)";
    let not_or = "not reachable(a) or reachable(b)";
    let cases = [
        (or_and, reach(true, false, false), true),
        (or_and, reach(false, true, false), false),
        (or_and, reach(false, true, true), true),
        (not_or, reach(false, false, false), true),
        (not_or, reach(true, false, false), false),
        ("not not reachable(a)", reach(true, false, false), true),
        ("not (reachable(a) and reachable(b))", reach(true, false, false), true),
        ("not (reachable(a) or reachable(b))", reach(true, false, false), false),
        ("reachable(a) == reachable(b)", reach(false, false, true), true),
        ("reachable(a) != reachable(b)", reach(false, false, true), false),
        ("not (reachable(a) == reachable(c))", reach(false, false, true), true),
    ];
    for (text, gauges, holds) in cases {
        assert_eq!(eval(text, &gauges).0, holds, "{text}");
    }
}

#[test]
fn unknown_values_never_open_a_gate() {
    let g = fake(&[
        ("lag_bytes(t)", Err("t is unreachable")),
        ("reachable(t)", Err("t is unreachable")),
        ("reachable(up)", Ok(1.0)),
        ("reachable(down)", Ok(0.0)),
        ("lag_seconds(nan)", Ok(f64::NAN)),
    ]);
    for text in [
        "lag_bytes(t) < 1MB",
        "lag_bytes(t) >= 1MB",
        "not (lag_bytes(t) < 1MB)",
        "not not not (lag_bytes(t) >= 1MB)",
        "reachable(t)",
        "not reachable(t)",
        "reachable(t) == false",
        "reachable(t) != true",
        "not ((lag_bytes(t) < 1MB) == true)",
        "lag_bytes(t) < 1MB or reachable(down)",
        "lag_bytes(t) < 1MB and reachable(up)",
        "not (lag_bytes(t) < 1MB and reachable(up))",
        "not (lag_bytes(t) < 1MB or reachable(down))",
        "not (lag_seconds(nan) < 5s)",
        "verify.differences == 0",
    ] {
        assert!(!eval(text, &g).0, "{text} must not hold");
    }
    // An unknown side does not block `or`, and a false part decides `and` whatever the other is.
    assert!(eval("lag_bytes(t) < 1MB or reachable(up)", &g).0);
    assert!(eval("not (lag_bytes(t) < 1MB and reachable(down))", &g).0);
    assert_eq!(eval("not (lag_bytes(t) < 1MB)", &g).1, "lag_bytes(t) unknown: t is unreachable");
    assert_eq!(eval("lag_seconds(nan) < 5s", &g).1, "lag_seconds(nan) unknown: no value");
}

#[test]
fn reasons_show_live_values() {
    let g = |lag: f64| {
        fake(&[
            ("lag_bytes(target)", Ok(lag)),
            ("verify.differences", Ok(0.0)),
            ("lag_seconds(replica)", Ok(130.0)),
            ("disk.free_pct(source)", Ok(17.5)),
            ("pool.waiting(bouncer)", Ok(3.0)),
            ("reachable(target)", Ok(0.0)),
            ("lag_bytes(gone)", Err("gone is unreachable")),
        ])
    };
    let gate = "lag_bytes(target) < 1MB and verify.differences == 0";
    let cases = [
        (gate, 3.2 * MB, false, "lag_bytes(target) = 3.2 MB, needs < 1 MB"),
        (gate, 12.0 * 1024.0, true, "lag_bytes(target) = 12 kB < 1 MB; verify.differences = 0 == 0"),
        ("1MB > lag_bytes(target)", 2.0 * MB, false, "lag_bytes(target) = 2 MB, needs < 1 MB"),
        ("lag_bytes(gone) < 1MB", 0.0, false, "lag_bytes(gone) unknown: gone is unreachable"),
        ("lag_seconds(replica) <= 5m", 0.0, true, "lag_seconds(replica) = 2m 10s <= 5m"),
        ("disk.free_pct(source) > 20%", 0.0, false, "disk.free_pct(source) = 17.5 %, needs > 20 %"),
        (
            "not (pool.waiting(bouncer) > 0) or reachable(target)",
            0.0,
            false,
            "pool.waiting(bouncer) = 3, needs <= 0; reachable(target) = false, needs true",
        ),
        ("not reachable(target)", 0.0, true, "reachable(target) = false"),
        ("reachable(target) == true", 0.0, false, "reachable(target) = false, needs == true"),
        ("false", 0.0, false, "false"),
    ];
    for (text, lag, holds, reason) in cases {
        assert_eq!(eval(text, &g(lag)), (holds, reason.to_owned()), "{text}");
    }
    assert_eq!([size(0.0), size(512.0 * 1024.0), size(1536.0), size(2e12)], ["0 B", "512 kB", "1.5 kB", "1.8 TB"]);
    assert_eq!(
        [duration(4.5), duration(0.25), duration(3600.0), duration(90_000.0)],
        ["4.5 s", "250 ms", "1h", "1d 1h"]
    );
}

#[test]
fn no_input_makes_parse_or_eval_panic() {
    let g = reach(true, false, true);
    let mut inputs: Vec<String> = Vec::new();
    for text in VALID {
        for (i, c) in text.char_indices() {
            inputs.push(text[..i].to_owned());
            inputs.push(format!("{}{}", &text[..i], &text[i + c.len_utf8()..]));
        }
    }
    // A xorshift, so the strings are the same on every run.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet: Vec<char> = "()<>=!&|%._- 0123456789aBmsdnotrufelag_bytesreachable(x)éß→\u{0}\t".chars().collect();
    for _ in 0..3000 {
        let s = (0..next() % 40)
            .map(|_| match next() {
                r if r % 5 == 0 => char::from_u32(u32::try_from(r % 0x11_0000).unwrap()).unwrap_or('?'),
                r => alphabet[usize::try_from(r).unwrap() % alphabet.len()],
            })
            .collect();
        inputs.push(s);
    }
    inputs.extend(["(".repeat(10_000), "not ".repeat(10_000) + "true", vec!["reachable(a)"; 5000].join(" or ")]);
    inputs.push(format!("lag_bytes(target) < {}", "9".repeat(400)));
    for text in &inputs {
        match parse(text) {
            Ok(c) => {
                let _ = c.eval(&g);
                assert!(c.endpoints().into_iter().all(|(name, range)| text[range] == *name));
            }
            Err(e) => assert!(text.is_char_boundary(e.offset), "{text:?}: {e:?}"),
        }
    }
    assert_eq!(
        fails(&format!("lag_bytes(target) < {}", "9".repeat(400))).1,
        format!("`{}` is too large", "9".repeat(400))
    );
}

#[test]
fn member_states_compare_by_name_with_equality_only() {
    let g = fake(&[
        ("mongo.state(n1)", Ok(2.0)),
        ("mongo.state(n2)", Ok(5.0)),
        ("mongo.state(n3)", Err("n3 is unreachable")),
    ]);
    assert_eq!(eval("mongo.state(n1) == SECONDARY", &g), (true, "mongo.state(n1) = SECONDARY == SECONDARY".to_owned()));
    assert_eq!(
        eval("mongo.state(n2) == SECONDARY", &g),
        (false, "mongo.state(n2) = STARTUP2, needs == SECONDARY".to_owned())
    );
    assert!(eval("PRIMARY != mongo.state(n2)", &g).0);
    // Unknown never holds, not even as "!=".
    assert_eq!(
        eval("mongo.state(n3) != PRIMARY", &g),
        (false, "mongo.state(n3) unknown: n3 is unreachable".to_owned())
    );
    assert!(!eval("not (mongo.state(n3) == PRIMARY)", &g).0);
    assert_eq!(
        fails("mongo.state(n1) < SECONDARY"),
        (16, "`<` does not order member states; use `==` or `!=`".to_owned())
    );
    assert_eq!(
        fails("mongo.state(n1) == secondary"),
        (19, "member states are uppercase: write `SECONDARY`".to_owned())
    );
    assert_eq!(fails("mongo.state(n1) == 2"), (19, "`2` is a number but mongo.state(n1) is a member state".to_owned()));
    assert_eq!(
        fails("lag_seconds(n1) == PRIMARY"),
        (19, "`PRIMARY` is a member state but lag_seconds(n1) is in seconds".to_owned())
    );
    assert_eq!(
        fails("mongo.state(n1)"),
        (0, "mongo.state(n1) is a number: compare it, e.g. mongo.state(n1) == SECONDARY".to_owned())
    );
}
