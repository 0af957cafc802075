use std::time::Duration;

use tokio::time::sleep;

use super::*;
use crate::virtual_time;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn span(name: &str, start: f64, end: f64) -> Span {
    Span {
        name: name.to_owned(),
        start: secs(start),
        end: secs(end),
        status: Status::Done,
        running: vec![(secs(start), secs(start)), (secs(end), secs(end))],
    }
}

fn minutes() -> Unit {
    Unit::new(Duration::from_secs(1), "min")
}

/// The parsed picture: lane names in drawing order and each lane's bars.
struct Picture {
    lanes: Vec<(String, Vec<Bar>)>,
    texts: Vec<String>,
}

struct Bar {
    x: f64,
    width: f64,
    running: Vec<(f64, f64)>,
}

fn number_attr(node: roxmltree::Node, name: &str) -> f64 {
    node.attribute(name).unwrap().parse().unwrap()
}

fn has_class(node: &roxmltree::Node, class: &str) -> bool {
    node.attribute("class") == Some(class)
}

fn parse(svg: &str) -> Picture {
    let document = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let lanes = root
        .descendants()
        .filter(|n| has_class(n, "lane"))
        .map(|lane| {
            let label = lane.children().find(|n| has_class(n, "label")).unwrap();
            let label = label.text().unwrap().to_owned();
            let bars = lane
                .children()
                .filter(|n| has_class(n, "span"))
                .map(|bar| {
                    let waiting = bar.children().find(|n| has_class(n, "waiting")).unwrap();
                    Bar {
                        x: number_attr(waiting, "x"),
                        width: number_attr(waiting, "width"),
                        running: bar
                            .children()
                            .filter(|n| has_class(n, "running"))
                            .map(|r| (number_attr(r, "x"), number_attr(r, "width")))
                            .collect(),
                    }
                })
                .collect();
            let full = lane.attribute("data-name").unwrap();
            assert!(full.starts_with(label.trim_end_matches('…')));
            (label, bars)
        })
        .collect();
    let texts = root
        .descendants()
        .filter(|n| n.tag_name().name() == "text")
        .filter_map(|n| n.text().map(str::to_owned))
        .collect();
    Picture { lanes, texts }
}

fn names(picture: &Picture) -> Vec<&str> {
    picture
        .lanes
        .iter()
        .map(|(name, _)| name.as_str())
        .collect()
}

#[test]
fn one_lane_per_task_ordered_by_start_with_widths_in_proportion() {
    let spans = [
        span("Pat", 2.0, 3.0),
        span("John", 0.0, 5.0),
        span("Mary", 1.0, 11.0),
    ];
    let picture = parse(&render_svg(&spans, &[], &minutes()));
    assert_eq!(names(&picture), ["John", "Mary", "Pat"]);
    let bars: Vec<&Bar> = picture.lanes.iter().map(|(_, bars)| &bars[0]).collect();
    // 5, 10 and 1 minutes long.
    let per_minute = bars[0].width / 5.0;
    assert!((bars[1].width - 10.0 * per_minute).abs() < 0.02);
    assert!((bars[2].width - per_minute).abs() < 0.02);
    // Starts at 0, 1 and 2 minutes.
    assert!((bars[1].x - bars[0].x - per_minute).abs() < 0.02);
    assert!((bars[2].x - bars[0].x - 2.0 * per_minute).abs() < 0.02);
}

#[test]
fn axis_has_round_ticks_and_the_unit() {
    let spans = [span("John", 0.0, 5.0), span("Mary", 0.0, 10.0)];
    let picture = parse(&render_svg(&spans, &[], &minutes()));
    for tick in ["0", "2", "4", "6", "8", "10"] {
        assert!(picture.texts.iter().any(|t| t == tick), "tick {tick}");
    }
    assert!(picture.texts.iter().any(|t| t == "time (min)"));
}

#[test]
fn running_stretches_sit_inside_their_bar() {
    let mut busy = span("worker", 0.0, 10.0);
    busy.running = vec![(secs(0.0), secs(2.0)), (secs(6.0), secs(7.0))];
    let picture = parse(&render_svg(&[busy], &[], &minutes()));
    let bar = &picture.lanes[0].1[0];
    assert_eq!(bar.running.len(), 2);
    let (first, second) = (bar.running[0], bar.running[1]);
    assert!((first.0 - bar.x).abs() < 0.02);
    assert!((first.1 - bar.width * 0.2).abs() < 0.02);
    assert!((second.0 - (bar.x + bar.width * 0.6)).abs() < 0.02);
    assert!((second.1 - bar.width * 0.1).abs() < 0.02);
}

#[test]
fn a_name_reused_after_it_ended_keeps_its_lane_and_overlaps_get_their_own() {
    let spans = [
        span("waiter", 0.0, 5.0),
        span("waiter", 5.0, 15.0),
        span("cook", 1.0, 4.0),
        span("cook", 2.0, 3.0),
    ];
    let picture = parse(&render_svg(&spans, &[], &minutes()));
    assert_eq!(names(&picture), ["waiter", "cook", "cook"]);
    assert_eq!(picture.lanes[0].1.len(), 2);
}

#[test]
fn labels_and_marks_are_escaped_text() {
    let spans = [span("<fetch> & \"parse\"", 0.0, 1.0)];
    let marks = [Mark {
        label: "deadline <1>".to_owned(),
        at: secs(0.5),
    }];
    let picture = parse(&render_svg(&spans, &marks, &minutes()));
    assert_eq!(names(&picture), ["<fetch> & \"parse\""]);
    assert!(picture.texts.iter().any(|t| t == "deadline <1>"));
}

#[test]
fn long_labels_are_shortened() {
    let long = "a task with a rather long and descriptive name";
    let picture = parse(&render_svg(&[span(long, 0.0, 1.0)], &[], &minutes()));
    let label = &picture.lanes[0].0;
    assert!(label.ends_with('…') && label.chars().count() == 24);
}

#[test]
fn empty_timeline_draws_a_note() {
    let picture = parse(&render_svg(&[], &[], &minutes()));
    assert!(picture.lanes.is_empty());
    assert!(picture.texts.iter().any(|t| t == "nothing tracked yet"));
}

#[test]
fn table_lists_spans_by_start() {
    let spans = [span("Mary", 5.0, 15.0), span("John", 0.0, 5.0)];
    let table = render_table(&spans, &minutes());
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "task  start  end     duration  running");
    assert_eq!(lines[1], "John  0 min  5 min   5 min     0 min");
    assert_eq!(lines[2], "Mary  5 min  15 min  10 min    0 min");
}

/// Three customers take 5, 10 and 1 minutes to decide.
const CUSTOMERS: [(&str, u64); 3] = [("John", 5), ("Mary", 10), ("Pat", 1)];

fn exact(spans: &[Span]) -> Vec<(String, u64, u64, Status)> {
    spans
        .iter()
        .map(|s| {
            assert_eq!(s.start.subsec_nanos(), 0, "{s:?}");
            assert_eq!(s.end.subsec_nanos(), 0, "{s:?}");
            (s.name.clone(), s.start.as_secs(), s.end.as_secs(), s.status)
        })
        .collect()
}

#[test]
fn virtual_time_records_exact_times_one_after_another() {
    let tl = Timeline::with_unit(Duration::from_secs(1), "min");
    let recorder = tl.clone();
    virtual_time::run(async move {
        for (name, minutes) in CUSTOMERS {
            recorder
                .track(name, sleep(Duration::from_secs(minutes)))
                .await;
        }
    });
    assert_eq!(
        exact(&tl.spans()),
        [
            ("John".to_owned(), 0, 5, Status::Done),
            ("Mary".to_owned(), 5, 15, Status::Done),
            ("Pat".to_owned(), 15, 16, Status::Done),
        ]
    );
    assert!(tl.table().contains("Pat   15 min  16 min  1 min"));
}

#[test]
fn virtual_time_records_exact_times_of_concurrent_tasks() {
    let tl = Timeline::new();
    let recorder = tl.clone();
    virtual_time::run(async move {
        let handles: Vec<_> = CUSTOMERS
            .iter()
            .map(|(name, minutes)| recorder.spawn(*name, sleep(Duration::from_secs(minutes * 60))))
            .collect();
        recorder.mark("all seated");
        for handle in handles {
            handle.await.unwrap();
        }
    });
    let spans: Vec<_> = exact(&tl.spans())
        .into_iter()
        .map(|(name, start, end, _)| (name, start / 60, end / 60))
        .collect();
    assert_eq!(
        spans,
        [
            ("John".to_owned(), 0, 5),
            ("Mary".to_owned(), 0, 10),
            ("Pat".to_owned(), 0, 1)
        ]
    );
    assert_eq!(tl.marks()[0].at, Duration::ZERO);
    // Ten minutes of work: the axis speaks in minutes.
    assert!(tl.svg().contains("time (min)"));
}

#[test]
fn dropped_work_is_cancelled_and_unfinished_work_is_open() {
    let tl = Timeline::new();
    let recorder = tl.clone();
    let open = virtual_time::run(async move {
        let slow = recorder.track("slow", sleep(Duration::from_secs(10)));
        let timed_out = tokio::time::timeout(Duration::from_secs(3), slow).await;
        assert!(timed_out.is_err());
        let mut pending = Box::pin(recorder.track("pending", sleep(Duration::from_secs(60))));
        assert!(futures::poll!(pending.as_mut()).is_pending());
        sleep(Duration::from_secs(1)).await;
        let open = recorder.spans();
        drop(pending);
        open
    });
    assert_eq!(
        exact(&open),
        [
            ("slow".to_owned(), 0, 3, Status::Cancelled),
            ("pending".to_owned(), 3, 4, Status::Open),
        ]
    );
    assert_eq!(tl.spans()[1].status, Status::Cancelled);
}

#[test]
fn each_poll_is_a_running_stretch() {
    let tl = Timeline::new();
    let recorder = tl.clone();
    virtual_time::run(async move {
        recorder
            .track("ticks", async {
                for _ in 0..3 {
                    sleep(Duration::from_secs(1)).await;
                }
            })
            .await;
    });
    let span = &tl.spans()[0];
    let at: Vec<u64> = span
        .running
        .iter()
        .map(|(from, _)| from.as_secs())
        .collect();
    assert_eq!(at, [0, 1, 2, 3]);
}
