"""papermill parameters for Asyncbook's Rust notebooks.

`papermill report.ipynb out.ipynb -p customers 5` injects, after the cell
tagged `parameters`, a cell of Rust `let` bindings:

    // Parameters
    let customers: i64 = 5;

Python values become the Rust types a reader expects: `int` an `i64`,
`float` an `f64`, `bool` a `bool`, `str` a `String`, `None` an
`Option<String>`, a list a `Vec<_>` and a dict a
`std::collections::HashMap<String, _>`, nested as deep as they go. A list or
dict whose items are of different types, and a name that is not a Rust
identifier, are refused with a message naming the parameter.

papermill finds translators only in its own registry; it has no entry
point for them, but it loads every `papermill.engine` entry point when it
starts. This package registers one, `asyncbook` (papermill's own engine
under a name of its own), whose import registers the translator for the
kernel `asyncbook` and the language `rust`.
"""

import math

from papermill.engines import NBClientEngine
from papermill.exceptions import PapermillException
from papermill.translators import Translator, papermill_translators

KEYWORDS = set(
    "as async await break const continue crate dyn else enum extern false fn for if impl in "
    "let loop match mod move mut pub ref return self Self static struct super trait true type "
    "unsafe use where while abstract become box do final gen macro override priv try typeof "
    "unsized virtual yield".split()
)


class RustTranslator(Translator):
    """Python values as Rust expressions with the types they are given."""

    @classmethod
    def comment(cls, cmt_str):
        return f"// {cmt_str}".strip()

    @classmethod
    def codify(cls, parameters, comment="Parameters"):
        lines = [cls.comment(comment)]
        for name, value in parameters.items():
            rust_type, expression = typed(name, value)
            lines.append(f"let {identifier(name)}: {rust_type} = {expression};")
        return "\n".join(lines) + "\n"


def identifier(name):
    """`name` if it is a Rust identifier, else a clear error."""
    valid = name and (name[0].isalpha() or name[0] == "_") and all(
        c.isalnum() or c == "_" for c in name
    )
    if not valid or name in KEYWORDS or name == "_":
        raise PapermillException(
            f"parameter `{name}` is not a Rust identifier; name it as a `let` can"
        )
    return name


def typed(name, value):
    """The Rust type of `value` and an expression of that type."""
    if isinstance(value, bool):
        return "bool", "true" if value else "false"
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise PapermillException(f"parameter `{name}`: {value} does not fit an i64")
        return "i64", str(value)
    if isinstance(value, float):
        return "f64", float_literal(value)
    if isinstance(value, str):
        return "String", f"String::from({string_literal(value)})"
    if value is None:
        return "Option<String>", "None"
    if isinstance(value, (list, tuple)):
        items = [typed(name, item) for item in value]
        item_type = same_type(name, [t for t, _ in items], "String", "list")
        if not items:
            return f"Vec<{item_type}>", "Vec::new()"
        return f"Vec<{item_type}>", "vec![" + ", ".join(e for _, e in items) + "]"
    if isinstance(value, dict):
        entries = [(str(k), typed(name, v)) for k, v in value.items()]
        value_type = same_type(name, [t for _, (t, _) in entries], "String", "dict")
        map_type = f"std::collections::HashMap<String, {value_type}>"
        if not entries:
            return map_type, "std::collections::HashMap::new()"
        pairs = ", ".join(
            f"(String::from({string_literal(k)}), {e})" for k, (_, e) in entries
        )
        return map_type, f"std::collections::HashMap::from([{pairs}])"
    raise PapermillException(
        f"parameter `{name}`: a {type(value).__name__} has no Rust counterpart here"
    )


def same_type(name, types, empty, what):
    """The one type all items share; `empty` when there are none."""
    distinct = sorted(set(types))
    if not distinct:
        return empty
    if len(distinct) == 1:
        return distinct[0]
    if set(distinct) == {"i64", "f64"}:
        raise PapermillException(
            f"parameter `{name}`: a {what} mixes whole numbers and decimals; write 1.0 for 1"
        )
    raise PapermillException(
        f"parameter `{name}`: a {what} whose items are {', '.join(distinct)} has no Rust type"
    )


def float_literal(value):
    if math.isnan(value):
        return "f64::NAN"
    if math.isinf(value):
        return "f64::INFINITY" if value > 0 else "f64::NEG_INFINITY"
    text = repr(value)
    return text if any(c in text for c in ".eE") else text + ".0"


def string_literal(value):
    escaped = []
    for c in value:
        if c == "\\":
            escaped.append("\\\\")
        elif c == '"':
            escaped.append('\\"')
        elif c == "\n":
            escaped.append("\\n")
        elif c == "\r":
            escaped.append("\\r")
        elif c == "\t":
            escaped.append("\\t")
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            escaped.append(f"\\u{{{ord(c):x}}}")
        else:
            escaped.append(c)
    return '"' + "".join(escaped) + '"'


class AsyncbookEngine(NBClientEngine):
    """papermill's own engine; importing it registers the Rust translator."""


papermill_translators.register("asyncbook", RustTranslator)
papermill_translators.register("rust", RustTranslator)
