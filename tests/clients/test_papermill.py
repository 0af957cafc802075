"""papermill runs a parametrised Rust notebook: the translator `make install`
puts beside the kernelspec writes the parameters as Rust `let`s of the types a
reader expects, from the Python API and from the command line, and refuses a
parameter Rust cannot name."""

import pathlib
import subprocess
import sys

import nbformat
import papermill
import pytest
from papermill.exceptions import PapermillException

PAPERMILL = pathlib.Path(sys.executable).with_name("papermill")

DEFAULTS = """\
let customers: i64 = 2;
let rate: f64 = 0.5;
let greeting: String = String::from("hello");
let sizes: Vec<i64> = vec![1];
let limits: std::collections::HashMap<String, f64> = std::collections::HashMap::new();
let verbose: bool = false;"""

REPORT = """\
let mut keys: Vec<String> = limits.keys().cloned().collect();
keys.sort();
println!("{customers} {rate} {greeting:?} {sizes:?} {keys:?} {verbose}");
println!("{:.1}", limits.values().fold(0.0, |a, b| a + b) * customers as f64);"""


@pytest.fixture
def report(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "asyncbook",
        "display_name": "Rust (async)",
        "language": "rust",
    }
    parameters = nbformat.v4.new_code_cell(DEFAULTS)
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, nbformat.v4.new_code_cell(REPORT)]
    path = tmp_path / "report.ipynb"
    nbformat.write(notebook, path)
    return path


def printed(path):
    notebook = nbformat.read(path, as_version=4)
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )


def test_parameters_become_typed_lets(report, tmp_path):
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(report),
        str(out),
        parameters={
            "customers": 5,
            "greeting": 'say "hi"\n',
            "sizes": [3, 4],
            "limits": {"b": 1.5, "a": 2.0},
            "verbose": True,
        },
        kernel_name="asyncbook",
        progress_bar=False,
    )
    injected = nbformat.read(out, as_version=4).cells[1]
    assert "injected-parameters" in injected.metadata["tags"]
    assert "let customers: i64 = 5;" in injected.source
    assert 'let greeting: String = String::from("say \\"hi\\"\\n");' in injected.source
    assert "let sizes: Vec<i64> = vec![3, 4];" in injected.source
    assert "std::collections::HashMap<String, f64>" in injected.source
    assert printed(out) == (
        '5 0.5 "say \\"hi\\"\\n" [3, 4] ["a", "b"] true\n17.5\n'
    )


def test_the_command_line_takes_parameters(report, tmp_path):
    out = tmp_path / "cli.ipynb"
    subprocess.run(
        [PAPERMILL, "--no-progress-bar", str(report), str(out), "-p", "customers", "3",
         "-p", "rate", "0.25", "-p", "greeting", "Grüße"],
        check=True,
        capture_output=True,
    )
    assert printed(out) == '3 0.25 "Grüße" [1] [] false\n0.0\n'


def test_a_parameter_rust_cannot_name_is_refused(report, tmp_path):
    for parameters, said in [
        ({"type": 1}, "parameter `type` is not a Rust identifier"),
        ({"mixed": [1, "a"]}, "parameter `mixed`: a list whose items are String, i64"),
    ]:
        with pytest.raises(PapermillException, match=said):
            papermill.execute_notebook(
                str(report),
                str(tmp_path / "refused.ipynb"),
                parameters=parameters,
                kernel_name="asyncbook",
                progress_bar=False,
            )
