//! What every execution's messages must show, and what `:runtime` reports.

use super::{ExecResult, Msg};

/// (day, nanoseconds of day) of a message's header date, for ordering.
fn sent_at(message: &Msg) -> (String, u128) {
    let date = message.header["date"].as_str().expect("a header date");
    let (day, time) = date.split_once('T').expect("an RFC 3339 date");
    let time = time.trim_end_matches('Z');
    let time = time.split(['+', '-']).next().unwrap_or(time);
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut units = hms.split(':').map(|p| p.parse::<u128>().expect("a time"));
    let (h, m, s) = (
        units.next().unwrap(),
        units.next().unwrap(),
        units.next().unwrap(),
    );
    let nanos: u128 = format!("{fraction:0<9}")[..9].parse().expect("a fraction");
    (
        day.to_owned(),
        ((h * 60 + m) * 60 + s) * 1_000_000_000 + nanos,
    )
}

/// The order every execution must follow on iopub, the parent headers, and
/// a reply sent before idle.
pub fn assert_execute_order(result: &ExecResult, session: &str) {
    let types = result.types();
    assert!(types.len() >= 3, "too few messages: {result:?}");
    assert_eq!(result.iopub[0].state(), Some("busy"), "{result:?}");
    assert_eq!(types[1], "execute_input", "{result:?}");
    assert_eq!(
        result.iopub.last().unwrap().state(),
        Some("idle"),
        "{result:?}"
    );
    let middle = &types[2..types.len() - 1];
    assert!(
        middle.iter().all(|t| [
            "stream",
            "display_data",
            "update_display_data",
            "clear_output",
            "execute_result",
            "error"
        ]
        .contains(t)),
        "unexpected message between execute_input and idle: {result:?}"
    );
    // The result or error comes after all other output of the cell.
    if let Some(at) = middle
        .iter()
        .position(|t| *t == "execute_result" || *t == "error")
    {
        assert_eq!(at, middle.len() - 1, "output after the result: {result:?}");
    }
    for message in result.iopub.iter().chain([&result.reply]) {
        assert_eq!(message.parent["msg_type"], "execute_request", "{result:?}");
        assert_eq!(message.parent["session"], session, "{result:?}");
        assert_eq!(message.parent_id(), Some(result.request_id.as_str()));
    }
    let input = &result.of_type("execute_input")[0].content;
    assert_eq!(input["code"], result.code.as_str());
    assert_eq!(input["execution_count"].as_u64(), Some(result.count()));
    for output in result.of_type("execute_result") {
        assert_eq!(
            output.content["execution_count"].as_u64(),
            Some(result.count())
        );
    }
    let idle = result.iopub.last().unwrap();
    assert!(
        sent_at(&result.reply) <= sent_at(idle),
        "idle was sent before the reply: {result:?}"
    );
}

/// Live task count from `:runtime`'s report.
pub fn live_tasks(report: &str) -> u64 {
    let words: Vec<&str> = report.split_whitespace().collect();
    let at = words
        .windows(2)
        .position(|w| w[1] == "live")
        .unwrap_or_else(|| panic!("no live task count in {report:?}"));
    words[at].parse().expect("a task count")
}
