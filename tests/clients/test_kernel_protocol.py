"""jupyter_kernel_test against the installed `asyncbook` kernelspec: every
test the package has, with samples for each."""

import unittest

import jupyter_kernel_test


class AsyncbookKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "asyncbook"
    language_name = "rust"
    file_extension = ".rs"

    code_hello_world = 'println!("hello, world");'
    code_stderr = 'eprintln!("something went wrong");'
    code_generate_error = 'panic!("this cell fails on purpose")'
    code_page_something = 'asyncbook::display::page("Help text for the pager")'
    code_clear_output = "asyncbook::display::clear_output(false);"
    code_inspect_sample = "std::mem::swap"

    completion_samples = [{"text": "std::mem::sw", "matches": {"swap"}}]

    complete_code_samples = ["1 + 1", "fn f() {}", "let s = \"}\";"]
    incomplete_code_samples = ["fn f() {", "let v = vec![1, 2,", "let s = \"open"]
    invalid_code_samples = ["fn f() }", "let x = (1]"]

    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "let v = vec![1, 2, 3]; v.len()", "result": "3"},
        {"code": "tokio::time::sleep(std::time::Duration::from_millis(5)).await; \"awaited\"", "result": "\"awaited\""},
    ]
    code_display_data = [
        {"code": 'asyncbook::display::html("<b>bold</b>");', "mime": "text/html"},
        {"code": 'asyncbook::display::svg("<svg xmlns=\\"http://www.w3.org/2000/svg\\"/>");', "mime": "image/svg+xml"},
        {"code": 'asyncbook::display::markdown("# Title");', "mime": "text/markdown"},
        {"code": "asyncbook::display::png(&[0x89, b'P', b'N', b'G']);", "mime": "image/png"},
    ]

    supported_history_operations = ("tail", "range", "search")
    # A pattern whose `*` also stands in the input (`6 * 7`).
    code_history_pattern = "6 *"


class AsyncbookIopubWelcome(jupyter_kernel_test.IopubWelcomeTests):
    kernel_name = "asyncbook"
    support_iopub_welcome = True


if __name__ == "__main__":
    unittest.main()
