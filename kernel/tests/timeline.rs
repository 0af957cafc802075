//! `:timeline` over the Jupyter protocol: a real kernel, cells that spawn
//! known tasks, and the picture drawn, a lane per task.

mod common;

use std::time::Duration;

use common::runner::{displays, run, shown, start};

/// Lane names of a timeline picture, in drawing order, each with its bar
/// (x, width) and the running stretches drawn inside it.
type Lane = (String, (f64, f64), Vec<(f64, f64)>);

fn lanes(svg: &str) -> Vec<Lane> {
    let document = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
    let number = |node: roxmltree::Node, name: &str| -> f64 {
        node.attribute(name).unwrap().parse().unwrap()
    };
    let class = |node: &roxmltree::Node, class: &str| node.attribute("class") == Some(class);
    document
        .root_element()
        .descendants()
        .filter(|n| class(n, "lane"))
        .map(|lane| {
            let name = lane.attribute("data-name").unwrap().to_owned();
            let span = lane.children().find(|n| class(n, "span")).expect("a bar");
            let waiting = span.children().find(|n| class(n, "waiting")).unwrap();
            let running = span
                .children()
                .filter(|n| class(n, "running"))
                .map(|r| (number(r, "x"), number(r, "width")))
                .collect();
            (
                name,
                (number(waiting, "x"), number(waiting, "width")),
                running,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn timeline_draws_a_lane_per_task_the_cell_spawns() {
    let test = async {
        let mut kernel = start().await;
        let quiet = run(
            &mut kernel,
            "let a = tokio::spawn(tokio::time::sleep(std::time::Duration::from_millis(10)));\n\
             a.await.unwrap();",
        )
        .await;
        assert!(displays(&quiet).is_empty(), "no picture without :timeline");

        let svg = shown(
            &mut kernel,
            ":timeline\n\
             let a = tokio::spawn(tokio::time::sleep(std::time::Duration::from_millis(30)));\n\
             let b: tokio::task::JoinHandle<()> = tokio::task::Builder::new()\n    \
                 .name(\"sleeper\")\n    \
                 .spawn(tokio::time::sleep(std::time::Duration::from_millis(60)))\n    \
                 .unwrap();\n\
             a.await.unwrap();\n\
             b.await.unwrap();",
            "image/svg+xml",
        )
        .await;
        let drawn = lanes(&svg);
        let names: Vec<&str> = drawn.iter().map(|(name, _, _)| name.as_str()).collect();
        assert_eq!(names, ["cell [2]", "[2] line 2", "sleeper"], "{svg}");
        // Awaited before the cell ended: no task is drawn as still going.
        assert!(!svg.contains("still going"), "{svg}");
        for (name, (x, width), running) in &drawn {
            assert!(!running.is_empty(), "{name} was polled");
            // A stretch starts inside its bar (it is drawn at least 1 px wide).
            for (from, _) in running {
                assert!(
                    *from >= x - 0.01 && *from <= x + width + 0.01,
                    "{name}: {svg}"
                );
            }
        }

        // On virtual time: minutes of sleeping, drawn at their exact lengths.
        let svg = shown(
            &mut kernel,
            ":timeline\n\
             asyncbook::virtual_time::run(async {\n    \
                 let one = tokio::spawn(tokio::time::sleep(std::time::Duration::from_secs(60)));\n    \
                 let two = tokio::spawn(tokio::time::sleep(std::time::Duration::from_secs(120)));\n    \
                 let _ = tokio::join!(one, two);\n\
             });",
            "image/svg+xml",
        )
        .await;
        let drawn = lanes(&svg);
        let names: Vec<&str> = drawn.iter().map(|(name, _, _)| name.as_str()).collect();
        assert_eq!(names, ["[3] line 3", "[3] line 4"], "{svg}");
        assert!(!svg.contains("still going"), "{svg}");
        let (one, two) = ((drawn[0].1).1, (drawn[1].1).1);
        assert!(
            (two / one - 2.0).abs() < 0.01,
            "60 s and 120 s: {one} and {two}"
        );

        kernel.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(240), test)
        .await
        .expect("the kernel answered within four minutes");
}
