use super::diagnostic::{an_error, label};
use super::titles::titled;
use super::*;
use serde_json::json;

#[test]
fn labels_share_their_line_and_lines_come_in_order() {
    let source = "let moved = vec![1];
let a = moved;
let b = moved;";
    let error = an_error(
        "E0382",
        "use of moved value: `moved`",
        vec![
            label((3, 9, 3, 14), "value used here after move", true),
            label((2, 9, 2, 14), "value moved here", false),
            label(
                (1, 5, 1, 10),
                "move occurs because `moved` has type `Vec<i32>`",
                false,
            ),
        ],
    );
    assert_eq!(
        render(&error, source),
        "error[E0382]: use of moved value: `moved`\n\
         \x20--> cell:3:9\n\
         \x20 |\n\
         1 | let moved = vec![1];\n\
         \x20 |     ----- move occurs because `moved` has type `Vec<i32>`\n\
         2 | let a = moved;\n\
         \x20 |         ----- value moved here\n\
         3 | let b = moved;\n\
         \x20 |         ^^^^^ value used here after move\n"
    );
    let one_line = an_error(
        "E0308",
        "mismatched types",
        vec![
            label((1, 14, 1, 19), "expected `u32`, found `&str`", true),
            label((1, 8, 1, 11), "expected due to this", false),
        ],
    );
    assert_eq!(
        render(&one_line, "let x: u32 = \"ten\";"),
        "error[E0308]: mismatched types\n\
         \x20--> cell:1:14\n\
         \x20 |\n\
         1 | let x: u32 = \"ten\";\n\
         \x20 |        ---   ^^^^^ expected `u32`, found `&str`\n\
         \x20 |        |\n\
         \x20 |        expected due to this\n"
    );
}

#[test]
fn a_label_that_restates_the_title_is_left_out() {
    let mut error = an_error(
        "E0425",
        "cannot find value `fut` in this scope",
        vec![label(
            (1, 7, 1, 10),
            "error: cannot find value `fut` in this scope",
            true,
        )],
    );
    error.help = vec!["a local variable with a similar name exists\n\nout".into()];
    assert_eq!(
        render(&error, "(&mut fut).await"),
        "error[E0425]: cannot find value `fut` in this scope\n\
         \x20--> cell:1:7\n\
         \x20 |\n\
         1 | (&mut fut).await\n\
         \x20 |       ^^^\n\
         \x20 |\n\
         \x20 = help: a local variable with a similar name exists: `out`\n"
    );
}

#[test]
fn errors_are_drawn_on_the_cell_as_written_around_a_type_the_kernel_wrote() {
    let written = "let name = String::from(\"x\"); let bad: u8 = \"q\";";
    let ran = "let name: String = String::from(\"x\"); let bad: u8 = \"q\";";
    assert_eq!(column_written(ran, written, 1), Some(1));
    assert_eq!(
        column_written(ran, written, 9),
        Some(9),
        "where it was inserted"
    );
    assert_eq!(
        column_written(ran, written, 12),
        None,
        "inside what was inserted"
    );
    assert_eq!(column_written(ran, written, 56), Some(48));
    let error = an_error(
        "E0308",
        "mismatched types",
        vec![label((1, 53, 1, 56), "expected `u8`, found `&str`", true)],
    );
    assert_eq!(
        render_written(&error, ran, written),
        "error[E0308]: mismatched types\n\
         \x20--> cell:1:45\n\
         \x20 |\n\
         1 | let name = String::from(\"x\"); let bad: u8 = \"q\";\n\
         \x20 |                                             ^^^ expected `u8`, found `&str`\n"
    );
    // A line rewritten otherwise keeps the kernel's text.
    let boxed = "let f: Box<dyn Fn()> = Box::new(|| 1); let bad: u8 = \"q\";";
    let error = an_error(
        "E0308",
        "mismatched types",
        vec![label((1, 55, 1, 58), "expected `u8`, found `&str`", true)],
    );
    let written = "let f = || 1; let bad: u8 = \"q\";";
    assert!(render_written(&error, boxed, written).contains("Box::new"));
}

#[test]
fn closures_are_not_named_by_the_compiled_file() {
    assert_eq!(
        in_cell_terms("within `{closure@src/asyncbook_lib.rs:173:20: 173:27}`, the trait"),
        "within `{closure}`, the trait"
    );
    assert_eq!(
        in_cell_terms("`{async block@src/asyncbook_lib.rs:9:5: 9:10}` is not `Send`"),
        "`{async block}` is not `Send`"
    );
    assert_eq!(in_cell_terms("see src/lib.rs:3:1"), "see src/lib.rs:3:1");
    assert_eq!(
        in_cell_terms("use `.ok_or(...)?` to provide an error compatible with `Result<(), EvcxrUserCodeError>`"),
        "use `.ok_or(...)?` to provide an error compatible with the cell's `Result`"
    );
}

#[test]
fn suggested_code_reads_as_part_of_its_help() {
    assert_eq!(
        with_suggestion("consider changing this to be mutable\n\nmut"),
        "consider changing this to be mutable: `mut`"
    );
    assert_eq!(
        with_suggestion("add these lines\n\nuse a;\nuse b;"),
        "add these lines:\n    use a;\n    use b;"
    );
    assert_eq!(with_suggestion("plain help"), "plain help");
    assert_eq!(
        with_suggestion("if you import `Builder`, refer to it directly\n\n"),
        "if you import `Builder`, refer to it directly"
    );
    assert_eq!(
        with_suggestion("consider annotating `S` with `#[derive(Debug)]`\n\n#[derive(Debug)]"),
        "consider annotating `S` with `#[derive(Debug)]`"
    );
}

#[test]
fn a_help_handed_on_alone_gets_its_errors_title() {
    let mut shown = Diagnostic {
        level: "help".to_owned(),
        code: None,
        message: "consider importing this trait".to_owned(),
        spans: vec![Labelled {
            span: Some(Span {
                start_line: 1,
                start_column: 1,
                end_line: 1,
                end_column: 1,
            }),
            label: String::new(),
            primary: true,
        }],
        help: Vec::new(),
        notes: Vec::new(),
    };
    let rustc = [json!({
        "level": "error",
        "code": {"code": "E0405"},
        "message": "cannot find trait `Any` in this scope",
        "children": [{"level": "help", "message": "consider importing this trait",
                      "spans": [{"suggested_replacement": "use std::any::Any;\n"}]}]
    })];
    titled(&mut shown, &rustc);
    let text = render(&shown, "use std::fmt;\nlet x = 1;");
    assert!(
        text.starts_with("error[E0405]: cannot find trait `Any` in this scope\n"),
        "{text}"
    );
    assert!(
        text.contains("help: consider importing this trait"),
        "{text}"
    );
    assert!(text.contains("use std::any::Any;"), "{text}");
}

#[test]
fn errors_keep_their_titles() {
    let mut error = Diagnostic {
        level: "error".to_owned(),
        code: Some("E0425".to_owned()),
        message: "cannot find value `x` in this scope".to_owned(),
        spans: Vec::new(),
        help: Vec::new(),
        notes: Vec::new(),
    };
    titled(
        &mut error,
        &[json!({"level": "error", "message": "other", "children": []})],
    );
    assert_eq!(error.message, "cannot find value `x` in this scope");
}
