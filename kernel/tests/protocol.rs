//! The Jupyter protocol over ZeroMQ, against the real kernel binary: every
//! shell request type, message order, parent headers, execution counts,
//! error statuses, stdin, history, completion, inspection and heartbeat.

mod common;

use std::time::Duration;

use common::{assert_execute_order, Kernel, Msg, ANSWER};
use serde_json::{json, Value};

/// Execution in one session: order, counts, results, persistence, streams,
/// errors, rich display, stdin, history, is_complete, complete, inspect,
/// comm_info, kernel_info and heartbeat.
#[tokio::test(flavor = "multi_thread")]
async fn one_session_covers_the_shell_protocol() {
    let mut kernel = Kernel::start().await;
    let session = kernel.session.clone();

    let welcome = kernel
        .welcome
        .clone()
        .expect("iopub_welcome on subscribing");
    assert_eq!(welcome.content["subscription"], "");

    // kernel_info: reply content, with busy and idle on iopub.
    let (info, iopub) = kernel.request("kernel_info_request", json!({})).await;
    assert_eq!(info.msg_type(), "kernel_info_reply");
    assert_eq!(info.content["status"], "ok");
    assert_eq!(info.content["protocol_version"], "5.5");
    assert_eq!(info.header["version"], "5.5");
    assert_eq!(info.content["supported_features"], json!([]));
    assert_eq!(info.content["implementation"], "asyncbook");
    assert_eq!(info.content["language_info"]["name"], "rust");
    assert_eq!(info.content["language_info"]["file_extension"], ".rs");
    let states: Vec<_> = iopub.iter().map(|m| m.state()).collect();
    assert_eq!(states, [Some("busy"), Some("idle")]);
    assert!(iopub
        .iter()
        .all(|m| m.parent["msg_type"] == "kernel_info_request"));

    // The first cell is number 1; a trailing expression is the result.
    let answer = kernel.run("6 * 7").await;
    assert_execute_order(&answer, &session);
    assert_eq!(answer.count(), 1);
    assert_eq!(answer.result().as_deref(), Some("42"));
    assert_eq!(answer.types().iter().filter(|t| **t == "stream").count(), 0);

    // let, fn, struct and use persist to later cells.
    let defs = kernel
        .run(
            "use std::collections::BTreeMap;\n\
             struct Point { x: i32, y: i32 }\n\
             fn norm1(p: &Point) -> i32 { p.x.abs() + p.y.abs() }\n\
             let origin_offset = 10;",
        )
        .await;
    assert_execute_order(&defs, &session);
    assert_eq!(defs.count(), 2);
    assert_eq!(defs.result(), None, "a cell ending in `;` has no result");
    let uses = kernel
        .run(
            "let mut m = BTreeMap::new();\n\
             m.insert(String::from(\"p\"), norm1(&Point { x: -3, y: 4 }) + origin_offset);\n\
             m[\"p\"]",
        )
        .await;
    assert_eq!(uses.count(), 3);
    assert_eq!(uses.result().as_deref(), Some("17"));

    // stdout and stderr stay apart; print! without newline is shown.
    let streams = kernel
        .run("println!(\"out line\");\neprintln!(\"err line\");\nprint!(\"no newline\");")
        .await;
    assert_execute_order(&streams, &session);
    assert_eq!(streams.stdout(), "out line\nno newline");
    assert_eq!(streams.stderr(), "err line\n");

    // A compile error: status error, rustc's diagnostic with the span.
    let broken = kernel.execute("let typed: u32 = \"text\";").await.failed();
    assert_execute_order(&broken, &session);
    assert_eq!(broken.count(), 5);
    let error = &broken.of_type("error")[0].content;
    let shown = broken.error_text();
    assert!(shown.contains("mismatched types"), "{broken:?}");
    assert!(shown.contains("-->"), "no span in: {shown}");
    assert!(shown.contains("^"), "no span marker in: {shown}");
    assert!(shown.contains("let typed: u32 = \"text\";"), "{shown}");
    assert_eq!(broken.reply.content["ename"], error["ename"]);
    assert_eq!(broken.reply.content["traceback"], error["traceback"]);
    // Warnings about earlier cells' items stay out of a later cell's error.
    kernel.run("macro_rules! never_used { () => {}; }").await;
    let noisy = kernel.execute("let typed: u32 = \"text\";").await.failed();
    assert!(!noisy.error_text().contains("never_used"), "{noisy:?}");
    assert_eq!(noisy.reply.content["evalue"], "mismatched types");

    // A panic: status error and its message; earlier variables survive.
    let panic = kernel
        .execute("let doomed = 1;\npanic!(\"boom number {}\", 7);")
        .await
        .failed();
    assert_execute_order(&panic, &session);
    assert!(panic.shown().contains("boom number 7"), "{panic:?}");
    let kept = kernel.run("origin_offset + 1").await;
    assert_eq!(kept.result().as_deref(), Some("11"));
    assert_eq!(kept.count(), 9, "failed cells count too");

    // `?` at the top level of a cell: Ok goes on, Err ends the cell with
    // status error and the error on stderr; earlier variables survive.
    let parsed = kernel
        .run("let parsed: i32 = \"41\".parse::<i32>()?;\nparsed + 1")
        .await;
    assert_eq!(parsed.result().as_deref(), Some("42"), "{parsed:?}");
    let early = kernel
        .execute("let lost: i32 = \"forty\".parse::<i32>()?;\nlost")
        .await
        .failed();
    assert_execute_order(&early, &session);
    assert!(
        early.stderr().contains("invalid digit found in string"),
        "{early:?}"
    );
    assert!(early.shown().contains("through `?`"), "{early:?}");
    let after = kernel.run("parsed + origin_offset").await;
    assert_eq!(after.result().as_deref(), Some("51"));

    // Rich display: HTML, Markdown, SVG, PNG as display_data.
    let rich = kernel
        .run(
            "asyncbook::display::html(\"<b>x</b>\");\n\
             asyncbook::display::markdown(\"# Title\");\n\
             asyncbook::display::svg(\"<svg xmlns='http://www.w3.org/2000/svg'/>\");\n\
             asyncbook::display::png(&[137, 80, 78, 71]);",
        )
        .await;
    assert_execute_order(&rich, &session);
    let shown: Vec<&Value> = rich
        .of_type("display_data")
        .iter()
        .map(|m| &m.content["data"])
        .collect();
    assert_eq!(shown.len(), 4, "{rich:?}");
    assert_eq!(shown[0]["text/html"], "<b>x</b>");
    assert_eq!(shown[1]["text/markdown"], "# Title");
    assert!(shown[2]["image/svg+xml"]
        .as_str()
        .unwrap()
        .starts_with("<svg"));
    assert_eq!(shown[3]["image/png"], "iVBORw==");
    assert!(shown.iter().all(|data| data["text/plain"].is_string()));

    // update_display_data from a later cell targets the first display.
    let first = kernel
        .run(
            "let progress: asyncbook::display::DisplayHandle =\n\
             asyncbook::display::text(\"step 1\");",
        )
        .await;
    let display = first.of_type("display_data")[0].content.clone();
    assert_eq!(display["data"]["text/plain"], "step 1");
    let id = display["transient"]["display_id"].clone();
    assert!(id.is_string(), "display without display_id: {display}");
    let update = kernel.run("progress.update_text(\"step 2\");").await;
    assert_execute_order(&update, &session);
    let updated = &update.of_type("update_display_data")[0].content;
    assert_eq!(updated["data"]["text/plain"], "step 2");
    assert_eq!(updated["transient"]["display_id"], id);

    // clear_output comes in order with the cell's other output.
    let cleared = kernel
        .run(
            "println!(\"before\");\n\
             asyncbook::display::clear_output(false);\n\
             println!(\"after\");",
        )
        .await;
    let kinds: Vec<String> = cleared
        .outputs()
        .map(|m| match m.msg_type() {
            "stream" => format!("stream:{}", m.content["text"].as_str().unwrap()),
            other => other.to_owned(),
        })
        .collect();
    assert_eq!(kinds, ["stream:before\n", "clear_output", "stream:after\n"]);
    assert_eq!(cleared.of_type("clear_output")[0].content["wait"], false);

    // stdin: input and password reach the frontend as input_request.
    let code = "let name: String = asyncbook::input::input(\"Your name: \");\n\
                let secret: String = asyncbook::input::password(\"Secret\");\n\
                println!(\"hello {name}, {} chars\", secret.len());";
    let id = kernel.submit(code, true).await;
    let Some(ask) = kernel.next_stdin(ANSWER).await else {
        let result = kernel.finish(code, &id, ANSWER).await;
        panic!("no input_request: {result:?}");
    };
    assert_eq!(ask.msg_type(), "input_request");
    assert_eq!(ask.parent_id(), Some(id.as_str()));
    assert!(ask.content["prompt"]
        .as_str()
        .unwrap()
        .starts_with("Your name"));
    assert_eq!(ask.content["password"], false);
    kernel.input_reply(&ask, "Ada").await;
    let ask = kernel
        .next_stdin(ANSWER)
        .await
        .expect("a second input_request");
    assert_eq!(ask.content["prompt"], "Secret");
    assert_eq!(ask.content["password"], true);
    kernel.input_reply(&ask, "hunter2").await;
    let asked = kernel.finish(code, &id, ANSWER).await.ok();
    assert_execute_order(&asked, &session);
    assert_eq!(asked.stdout(), "hello Ada, 7 chars\n");
    // Without allow_stdin the cell gets an empty answer and no request is sent.
    let code = "asyncbook::input::input(\"unused\").len()";
    let id = kernel.submit(code, false).await;
    let refused = kernel.finish(code, &id, ANSWER).await.ok();
    assert_eq!(refused.result().as_deref(), Some("0"));
    assert!(kernel
        .next_stdin(Duration::from_millis(200))
        .await
        .is_none());

    // History: tail, range, search with unique and n.
    kernel.run("let repeated = 1;").await;
    let last = kernel.run("let repeated = 1;").await.count();
    let (tail, _) = kernel
        .request(
            "history_request",
            json!({"hist_access_type": "tail", "n": 2, "output": false, "raw": true}),
        )
        .await;
    assert_eq!(tail.content["status"], "ok");
    let entries = tail.content["history"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[1][1].as_u64(), Some(last));
    assert_eq!(entries[1][2], "let repeated = 1;");
    assert_eq!(entries[0][1].as_u64(), Some(last - 1));
    let (range, _) = kernel
        .request(
            "history_request",
            json!({"hist_access_type": "range", "session": 0, "start": 1, "stop": 3,
                   "output": false, "raw": true}),
        )
        .await;
    let entries = range.content["history"].as_array().unwrap().clone();
    let lines: Vec<u64> = entries.iter().filter_map(|e| e[1].as_u64()).collect();
    assert_eq!(lines, [1, 2], "{entries:?}");
    assert_eq!(entries[0][2], "6 * 7");
    let search = |unique: bool, n: i64| {
        json!({"hist_access_type": "search", "pattern": "let repeat*", "unique": unique,
               "n": n, "output": false, "raw": true})
    };
    let (all, _) = kernel.request("history_request", search(false, 100)).await;
    assert_eq!(all.content["history"].as_array().unwrap().len(), 2);
    let (unique, _) = kernel.request("history_request", search(true, 100)).await;
    let unique = unique.content["history"].as_array().unwrap().clone();
    assert_eq!(unique.len(), 1, "{unique:?}");
    assert_eq!(unique[0][1].as_u64(), Some(last), "unique keeps the latest");
    let (wide, _) = kernel
        .request(
            "history_request",
            json!({"hist_access_type": "search", "pattern": "*", "unique": false,
                   "n": 3, "output": false, "raw": true}),
        )
        .await;
    let wide = wide.content["history"].as_array().unwrap().clone();
    assert_eq!(wide.len(), 3, "n limits the matches: {wide:?}");
    assert_eq!(wide[2][1].as_u64(), Some(last), "n keeps the most recent");
    // `*` and `?` are wildcards also where the input holds those characters.
    for (pattern, found) in [
        ("6 *", true),
        ("6 ? 7", true),
        ("6*7", true),
        ("6 ?", false),
    ] {
        let (reply, _) = kernel
            .request(
                "history_request",
                json!({"hist_access_type": "search", "pattern": pattern, "unique": true,
                       "n": 10, "output": false, "raw": true}),
            )
            .await;
        let inputs: Vec<&str> = reply.content["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e[2].as_str())
            .collect();
        assert_eq!(inputs.contains(&"6 * 7"), found, "{pattern:?}: {inputs:?}");
    }

    // is_complete.
    for (code, status) in [
        ("fn f() {", "incomplete"),
        ("fn f() }", "invalid"),
        ("1 + 1", "complete"),
    ] {
        let (reply, _) = kernel
            .request("is_complete_request", json!({ "code": code }))
            .await;
        assert_eq!(reply.content["status"], status, "is_complete for {code:?}");
        if status == "incomplete" {
            assert!(reply.content["indent"].is_string());
        }
    }

    // complete: a std path and a variable of the session.
    let code = "std::mem::sw";
    let (reply, iopub) = kernel
        .request(
            "complete_request",
            json!({"code": code, "cursor_pos": code.chars().count()}),
        )
        .await;
    assert_eq!(reply.content["status"], "ok");
    let matches = reply.content["matches"].as_array().unwrap();
    // Function matches may carry their parameters (`swap(x, y)`).
    let starts = |m: &Value, name: &str| m.as_str().is_some_and(|m| m.starts_with(name));
    assert!(matches.iter().any(|m| starts(m, "swap")), "{reply:?}");
    assert_eq!(reply.content["cursor_start"], 10);
    assert_eq!(reply.content["cursor_end"], 12);
    // Each match with its kind, for the frontend's icons.
    let typed = reply.content["metadata"]["_jupyter_types_experimental"]
        .as_array()
        .expect("typed matches");
    assert_eq!(typed.len(), matches.len(), "{reply:?}");
    let swap = typed
        .iter()
        .find(|t| starts(&t["text"], "swap"))
        .expect("swap among the typed matches");
    assert_eq!(swap["type"], "function", "{swap}");
    assert_eq!(
        (swap["start"].clone(), swap["end"].clone()),
        (json!(10), json!(12))
    );
    assert_eq!(iopub.first().and_then(Msg::state), Some("busy"));
    let code = "let total = origin_of";
    let (reply, _) = kernel
        .request(
            "complete_request",
            json!({"code": code, "cursor_pos": code.chars().count()}),
        )
        .await;
    let matches = reply.content["matches"].as_array().unwrap();
    assert!(
        matches.iter().any(|m| starts(m, "origin_offset")),
        "{reply:?}"
    );

    // inspect: hover text for a std function, found=false for nothing.
    let inspect =
        |code: &str| json!({"code": code, "cursor_pos": code.chars().count(), "detail_level": 0});
    let (reply, _) = kernel
        .request("inspect_request", inspect("std::mem::swap"))
        .await;
    assert_eq!(reply.content["status"], "ok");
    assert_eq!(reply.content["found"], true, "{reply:?}");
    let text = reply.content["data"]["text/plain"].as_str().unwrap();
    assert!(text.contains("fn swap"), "{text}");
    let (reply, _) = kernel.request("inspect_request", inspect("   ")).await;
    assert_eq!(reply.content["status"], "ok");
    assert_eq!(reply.content["found"], false, "{reply:?}");

    // comm_info: no comms.
    let (reply, _) = kernel
        .request("comm_info_request", json!({"target_name": "anything"}))
        .await;
    assert_eq!(reply.content["status"], "ok");
    assert_eq!(reply.content["comms"], json!({}));

    // Heartbeat echoes.
    assert!(kernel.heartbeat(ANSWER).await);

    // A variable holding a value of the cell library's own types needs no
    // type annotation, as variables of tokio types do not.
    kernel
        .run("let handle = asyncbook::display::text(\"shown\");")
        .await;
}
