"""The error-tree drawing in errors.py's docstring names every class, each under its real parent."""

from __future__ import annotations

import inspect
import re

from quickotp.domain import errors

# One line of the drawing: two spaces a level, "- ", the class name, then an optional note
# after two or more spaces.
_LINE = re.compile(r"^(?P<indent> *)- (?P<name>[A-Za-z_]\w*)(?: {2,}\S.*)?$")


def drawn_tree(doc: str) -> list[tuple[str, str | None]]:
    """(class name, parent name) for each line of the drawing, in order; the root's parent None."""
    pairs: list[tuple[str, str | None]] = []
    parents: list[str] = []  # the chain of names above the current line
    for line in doc.splitlines():
        found = _LINE.match(line)
        if found is None:
            continue
        indent, name = len(found["indent"]), found["name"]
        assert indent % 2 == 0, f"odd indentation in the drawing: {line!r}"
        depth = indent // 2
        assert depth <= len(parents), f"{name} is indented past its parent's child: {line!r}"
        del parents[depth:]
        pairs.append((name, parents[-1] if parents else None))
        parents.append(name)
    return pairs


def error_classes() -> dict[str, type[BaseException]]:
    """Every exception class errors.py defines (not the ones it imports)."""
    return {
        name: value
        for name, value in vars(errors).items()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ == errors.__name__
    }


def test_the_drawing_parses_into_one_tree_rooted_at_gateway_error() -> None:
    """Exactly one root, GatewayError, and no class drawn twice."""
    pairs = drawn_tree(errors.__doc__ or "")

    names = [name for name, _ in pairs]
    assert [name for name, parent in pairs if parent is None] == ["GatewayError"]
    assert len(names) == len(set(names)), "a class is drawn twice"


def test_every_error_class_is_drawn() -> None:
    """The drawing and the module name the same classes."""
    drawn = {name for name, _ in drawn_tree(errors.__doc__ or "")}

    assert drawn == set(error_classes())


def test_each_drawn_class_sits_under_its_real_parent() -> None:
    """Each class's only base is the one it is drawn under (GatewayError's is Exception)."""
    classes = error_classes()
    wrong = []
    for name, parent in drawn_tree(errors.__doc__ or ""):
        cls = classes.get(name)
        if cls is None:
            continue  # reported by test_every_error_class_is_drawn
        expected = (classes[parent],) if parent is not None else (Exception,)
        if cls.__bases__ != expected:
            actual = ", ".join(base.__name__ for base in cls.__bases__)
            wrong.append(f"{name} is drawn under {parent}, but its bases are ({actual})")

    assert wrong == []


def test_the_parser_reads_nesting_and_notes() -> None:
    """A small drawing: siblings, a grandchild, notes after two spaces, prose lines skipped."""
    doc = """
    Some prose.

    - Root
      - Child  a note
        - Grandchild
      - Sibling      another note
    """.replace("\n    ", "\n")

    assert drawn_tree(doc) == [
        ("Root", None),
        ("Child", "Root"),
        ("Grandchild", "Child"),
        ("Sibling", "Root"),
    ]
