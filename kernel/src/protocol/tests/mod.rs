//! The session driven through its channels by a fake interpreter: no
//! sockets, no evcxr, no cell process. The fake runs scripted cells:
//! `print X` writes X to stdout, `value X` ends with X, `fail KIND` fails,
//! `input P` asks for input with prompt P and ends with the answer, `wait`
//! runs until interrupted.

use std::sync::atomic::Ordering;

use jupyter_protocol::{
    ExecuteRequest, HistoryRequest, InputReply, InterruptRequest, JupyterMessage,
    KernelInfoRequest, ReplyStatus,
};
use serde_json::json;

use fake::{assert_brackets, execute, find, is_idle, shape, start, Sent};

mod fake;

#[tokio::test]
async fn a_cell_publishes_busy_input_outputs_reply_idle_in_order() {
    let kernel = start();
    let printed = kernel.run(execute("print hello")).await;
    assert_eq!(
        shape(&printed),
        [
            "iopub:status:busy",
            "iopub:execute_input",
            "iopub:stream",
            "shell:execute_reply",
            "iopub:status:idle",
        ]
    );
    assert_eq!(find(&printed, "stream").content["text"], "hello");
    assert_eq!(find(&printed, "execute_reply").content["status"], "ok");

    let valued = kernel.run(execute("value 42")).await;
    assert_eq!(
        shape(&valued),
        [
            "iopub:status:busy",
            "iopub:execute_input",
            "iopub:execute_result",
            "shell:execute_reply",
            "iopub:status:idle",
        ]
    );
    let result = find(&valued, "execute_result");
    assert_eq!(result.content["data"]["text/plain"], "42");
    assert_eq!(result.content["execution_count"], 2);
}

#[tokio::test]
async fn execution_counts_skip_silent_cells_and_those_kept_out_of_history() {
    let kernel = start();
    let count = |sent: &[Sent]| find(sent, "execute_reply").content["execution_count"].clone();
    assert_eq!(count(&kernel.run(execute("value a")).await), 1);
    let silent = kernel
        .run(ExecuteRequest {
            silent: true,
            ..execute("value b")
        })
        .await;
    assert_eq!(count(&silent), 1);
    assert_eq!(
        shape(&silent),
        [
            "iopub:status:busy",
            "shell:execute_reply",
            "iopub:status:idle"
        ],
        "a silent cell publishes neither its input nor its result"
    );
    let unstored = ExecuteRequest {
        store_history: false,
        ..execute("value c")
    };
    assert_eq!(count(&kernel.run(unstored).await), 1);
    let last = kernel.run(execute("value d")).await;
    assert_eq!(count(&last), 2);
    assert_eq!(find(&last, "execute_input").content["execution_count"], 2);
    let counts: Vec<usize> = kernel
        .fake
        .0
        .executed
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.1)
        .collect();
    assert_eq!(counts, [1, 1, 1, 2], "the interpreter sees the same counts");
}

#[tokio::test]
async fn a_failed_cell_aborts_the_execute_requests_queued_behind_it() {
    let kernel = start();
    let failing = kernel.queue(execute("fail compile"));
    let second = kernel.queue(execute("value 1"));
    let info = kernel.queue(KernelInfoRequest {});
    let third = kernel.queue(execute("value 2"));
    let info_answer = kernel.answered(&info).await;

    let failed = kernel.about(&failing);
    assert_eq!(
        shape(&failed),
        [
            "iopub:status:busy",
            "iopub:execute_input",
            "iopub:error",
            "shell:execute_reply",
            "iopub:status:idle",
        ]
    );
    let reply = &find(&failed, "execute_reply").content;
    assert_eq!(reply["status"], "error");
    assert_eq!(reply["ename"], "CompileError");
    assert_eq!(find(&failed, "error").content["ename"], "CompileError");

    for aborted in [&second, &third] {
        let sent = kernel.about(aborted);
        assert_brackets(&sent, "shell:execute_reply");
        assert_eq!(find(&sent, "execute_reply").content["status"], "aborted");
        assert_eq!(find(&sent, "execute_reply").content["execution_count"], 1);
    }
    // The aborts come before the failed cell's reply, so no request sent on
    // reading that reply can be among them; kernel_info keeps its turn after
    // them, and its busy follows the failed cell's idle.
    let log = kernel.log.lock().unwrap().clone();
    let replies: Vec<&String> = log
        .iter()
        .filter(|s| s.channel == "shell")
        .map(|s| &s.parent)
        .collect();
    assert_eq!(replies, [&second, &third, &failing, &info]);
    let position = |id: &str, pick: fn(&Sent) -> bool| {
        log.iter().position(|s| s.parent == id && pick(s)).unwrap()
    };
    let failed_idle = position(&failing, is_idle);
    assert!(position(&third, |s| s.msg_type == "execute_reply") < failed_idle);
    assert!(position(&info, |s| s.msg_type == "status") > failed_idle);
    assert_eq!(
        find(&info_answer, "kernel_info_reply").content["status"],
        "ok"
    );
    let executed = kernel.fake.0.executed.lock().unwrap().clone();
    assert_eq!(executed, [("fail compile".to_owned(), 1)]);

    // Without stop_on_error the next cell runs.
    let lenient = kernel.queue(ExecuteRequest {
        stop_on_error: false,
        ..execute("fail panic")
    });
    let next = kernel.queue(execute("value 3"));
    let next_sent = kernel.answered(&next).await;
    assert_eq!(
        find(&kernel.about(&lenient), "execute_reply").content["ename"],
        "Panic"
    );
    assert_eq!(find(&next_sent, "execute_reply").content["status"], "ok");
    assert_eq!(
        find(&next_sent, "execute_result").content["data"]["text/plain"],
        "3"
    );
}

#[tokio::test]
async fn history_answers_tail_range_and_search() {
    let kernel = start();
    for code in ["value 1", "print x", "value 3", "value 1"] {
        kernel.run(execute(code)).await;
    }
    let history = |request: HistoryRequest| {
        let kernel = &kernel;
        let id = kernel.queue(request);
        async move {
            let sent = kernel.answered(&id).await;
            find(&sent, "history_reply").content["history"].clone()
        }
    };
    let tail = history(HistoryRequest::Tail {
        n: 2,
        output: false,
        raw: true,
    })
    .await;
    assert_eq!(tail, json!([[1, 3, "value 3"], [1, 4, "value 1"]]));
    let range = history(HistoryRequest::Range {
        session: None,
        start: 2,
        stop: 4,
        output: true,
        raw: true,
    })
    .await;
    assert_eq!(
        range,
        json!([[1, 2, ["print x", ""]], [1, 3, ["value 3", "3"]]])
    );
    let search = history(HistoryRequest::Search {
        pattern: "value ?".into(),
        unique: false,
        output: false,
        raw: true,
        n: 0,
    })
    .await;
    assert_eq!(
        search,
        json!([[1, 1, "value 1"], [1, 3, "value 3"], [1, 4, "value 1"]])
    );
    let unique = history(HistoryRequest::Search {
        pattern: "value*".into(),
        unique: true,
        output: false,
        raw: true,
        n: 1,
    })
    .await;
    assert_eq!(unique, json!([[1, 4, "value 1"]]));
}

#[tokio::test]
async fn a_cell_asking_for_input_gets_the_frontends_answer_on_stdin() {
    let kernel = start();
    let id = kernel.queue(execute("input Name?"));
    kernel
        .until(|sent| sent.iter().any(|s| s.channel == "stdin"))
        .await;
    let request = find(&kernel.about(&id), "input_request").clone();
    assert_eq!(request.channel, "stdin");
    assert_eq!(request.content["prompt"], "Name?");
    assert_eq!(request.content["password"], false);
    let answer = InputReply {
        value: "Ada".into(),
        status: ReplyStatus::Ok,
        error: None,
    };
    kernel
        .stdin
        .try_send(JupyterMessage::new(answer, None))
        .unwrap();
    let sent = kernel.answered(&id).await;
    assert_eq!(
        find(&sent, "execute_result").content["data"]["text/plain"],
        "Ada"
    );

    // A request that does not allow stdin gets an empty answer, unasked.
    let refused = kernel
        .run(ExecuteRequest {
            allow_stdin: false,
            ..execute("input Again?")
        })
        .await;
    assert!(refused.iter().all(|s| s.channel != "stdin"));
    assert_eq!(
        find(&refused, "execute_result").content["data"]["text/plain"],
        ""
    );
}

#[tokio::test]
async fn an_interrupt_on_control_stops_the_running_cell() {
    let kernel = start();
    let cell = kernel.queue(execute("wait"));
    kernel
        .until(|sent| sent.iter().any(|s| s.msg_type == "execute_input"))
        .await;
    // Control is answered while the cell still runs.
    let info = JupyterMessage::new(KernelInfoRequest {}, None);
    let info_id = info.header.msg_id.clone();
    kernel.control.try_send(info).unwrap();
    let info_sent = kernel.answered(&info_id).await;
    assert_eq!(find(&info_sent, "kernel_info_reply").channel, "control");
    assert!(kernel
        .about(&cell)
        .iter()
        .all(|s| s.msg_type != "execute_reply"));

    let interrupt = JupyterMessage::new(InterruptRequest {}, None);
    let interrupt_id = interrupt.header.msg_id.clone();
    kernel.control.try_send(interrupt).unwrap();
    let sent = kernel.answered(&cell).await;
    let reply = &find(&sent, "execute_reply").content;
    assert_eq!(reply["status"], "error");
    assert_eq!(reply["ename"], "Interrupted");
    assert_eq!(kernel.fake.0.interrupts.load(Ordering::SeqCst), 1);
    let interrupted = kernel.answered(&interrupt_id).await;
    assert_brackets(&interrupted, "control:interrupt_reply");
}

#[tokio::test]
async fn completion_inspection_and_completeness_come_from_the_interpreter() {
    let kernel = start();
    let complete = kernel.queue(jupyter_protocol::CompleteRequest {
        code: "é fo".into(),
        cursor_pos: 4,
    });
    let sent = kernel.answered(&complete).await;
    let reply = &find(&sent, "complete_reply").content;
    assert_eq!(reply["matches"], json!(["é fo_done"]));
    // Offsets go to the interpreter in bytes and back in characters.
    assert_eq!(
        (reply["cursor_start"].clone(), reply["cursor_end"].clone()),
        (json!(0), json!(4))
    );

    let inspect = kernel.queue(jupyter_protocol::InspectRequest {
        code: "x".into(),
        cursor_pos: 1,
        detail_level: Some(0),
    });
    let sent = kernel.answered(&inspect).await;
    assert_eq!(
        find(&sent, "inspect_reply").content["data"]["text/plain"],
        "about x"
    );

    let open = kernel.queue(jupyter_protocol::IsCompleteRequest {
        code: "fn f() {".into(),
    });
    let sent = kernel.answered(&open).await;
    let reply = &find(&sent, "is_complete_reply").content;
    assert_eq!(
        (reply["status"].clone(), reply["indent"].clone()),
        (json!("incomplete"), json!("    "))
    );
}
