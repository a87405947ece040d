"""A `$filter` parser and evaluator for the OData v2 subset Exact clients use [C S4, K S6/S7].

Supported: eq ne gt ge lt le, and/or/not, parentheses, guid'..', datetime'..', 'strings' with ''
escaping, numbers, true/false/null, and the functions trim, tolower, toupper, substringof, startswith,
endswith. Type mismatches produce .NET's wording (picqer #52 [R S15]), e.g. a Guid compared with a string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from .errors import BadRequest
from .schema import BOOL, DATE, FLOAT, GUID, INT, INT64, STR, EntitySpec

_TOKEN = re.compile(
    r"\s*(?:(?P<guid>guid'[^']*')|(?P<datetime>datetime'[^']*')|(?P<string>'(?:[^']|'')*')"
    r"|(?P<number>-?\d+(?:\.\d+)?[mMdDfFlL]?)|(?P<name>[A-Za-z_][A-Za-z0-9_/]*)|(?P<punct>[(),]))"
)
_OPERATORS = {"eq", "ne", "gt", "ge", "lt", "le"}
_CLR = {GUID: "System.Guid", STR: "System.String", INT: "System.Int32", INT64: "System.Int64"}
_CLR |= {FLOAT: "System.Double", DATE: "System.DateTime", BOOL: "System.Boolean"}
_NUMERIC = {INT, INT64, FLOAT}
_FUNCTIONS = {"trim": (1, STR), "tolower": (1, STR), "toupper": (1, STR), "substringof": (2, BOOL)}
_FUNCTIONS |= {"startswith": (2, BOOL), "endswith": (2, BOOL)}


@dataclass
class Token:
    kind: str
    text: str
    pos: int


@dataclass
class Node:
    kind: str  # or, and, not, cmp, prop, lit, call
    typ: str | None = None
    value: object = None
    children: list = field(default_factory=list)
    op: str = ""


@dataclass
class Filter:
    root: Node
    properties: set[str]
    case_insensitive: bool = True

    def matches(self, row: dict) -> bool:
        return bool(_evaluate(self.root, row, self.case_insensitive))


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise BadRequest(f"Syntax error at position {pos} in '{text}'.")
        kind = match.lastgroup
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, spec: EntitySpec):
        self.text, self.spec = text, spec
        self.tokens = tokenize(text)
        self.index = 0
        self.properties: set[str] = set()

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise BadRequest(f"Expression expected at position {len(self.text)} in '{self.text}'.")
        self.index += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise BadRequest(f"'{text}' expected at position {token.pos} in '{self.text}'.")

    def parse(self) -> Node:
        node = self.logical("or")
        if self.peek() is not None:
            raise BadRequest(f"Syntax error at position {self.peek().pos} in '{self.text}'.")
        return node

    def logical(self, word: str) -> Node:
        lower = (lambda: self.logical("and")) if word == "or" else self.comparison
        node = lower()
        while (token := self.peek()) and token.kind == "name" and token.text == word:
            self.take()
            node = Node(word, BOOL, children=[node, lower()])
        return node

    def comparison(self) -> Node:
        left = self.primary()
        token = self.peek()
        if token and token.kind == "name" and token.text in _OPERATORS:
            self.take()
            right = self.primary()
            _check_operands(token, left, right)
            return Node("cmp", BOOL, op=token.text, children=[left, right])
        return left

    def primary(self) -> Node:
        token = self.take()
        if token.text == "(":
            node = self.logical("or")
            self.expect(")")
            return node
        if token.kind == "name" and token.text == "not":
            return Node("not", BOOL, children=[self.comparison()])
        if token.kind == "name":
            return self.name(token)
        return _literal(token)

    def name(self, token: Token) -> Node:
        if token.text in ("true", "false"):
            return Node("lit", BOOL, token.text == "true")
        if token.text == "null":
            return Node("lit", None, None)
        if token.text in _FUNCTIONS:
            return self.call(token)
        typ = self.spec.field_type(token.text)
        if typ is None:
            # Navigation properties cannot be filtered either [C S4].
            raise BadRequest(
                f"No property '{token.text}' exists in type '{self.spec.type_name}' at position {token.pos}."
            )
        self.properties.add(token.text)
        return Node("prop", typ, token.text)

    def call(self, token: Token) -> Node:
        arity, typ = _FUNCTIONS[token.text]
        self.expect("(")
        args = [self.logical("or")]
        while len(args) < arity:
            self.expect(",")
            args.append(self.logical("or"))
        self.expect(")")
        return Node("call", typ, token.text, children=args)


def _literal(token: Token) -> Node:
    text = token.text
    if token.kind == "guid":
        return Node("lit", GUID, text[5:-1].lower())
    if token.kind == "datetime":
        try:
            return Node("lit", DATE, datetime.fromisoformat(text[9:-1].rstrip("Z")))
        except ValueError as exc:
            raise BadRequest(f"Unrecognized 'Edm.DateTime' literal '{text}' at position {token.pos}.") from exc
    if token.kind == "string":
        return Node("lit", STR, text[1:-1].replace("''", "'"))
    if token.kind == "number":
        number = text.rstrip("mMdDfFlL")
        return Node("lit", FLOAT if "." in number else INT, float(number) if "." in number else int(number))
    raise BadRequest(f"Syntax error at position {token.pos}.")


def _check_operands(op: Token, left: Node, right: Node) -> None:
    a, b = left.typ, right.typ
    if a is None or b is None or a == b or (a in _NUMERIC and b in _NUMERIC):
        return
    raise BadRequest(
        f"Operator '{op.text}' incompatible with operand types '{_CLR[a]}' and '{_CLR[b]}' at position {op.pos}."
    )


def parse_filter(text: str, spec: EntitySpec, case_insensitive: bool = True) -> Filter:
    parser = _Parser(text, spec)
    return Filter(parser.parse(), parser.properties, case_insensitive)


def _evaluate(node: Node, row: dict, ci: bool):
    kind = node.kind
    if kind == "lit":
        return node.value
    if kind == "prop":
        return row.get(node.value)
    if kind == "or":
        return any(_evaluate(child, row, ci) for child in node.children)
    if kind == "and":
        return all(_evaluate(child, row, ci) for child in node.children)
    if kind == "not":
        return not _evaluate(node.children[0], row, ci)
    args = [_evaluate(child, row, ci) for child in node.children]
    return _compare(node.op, *args, ci) if kind == "cmp" else _call(node.value, args)


def _call(name: str, args: list):
    if any(arg is None for arg in args):
        return None
    if name in ("trim", "tolower", "toupper"):
        return {"trim": str.strip, "tolower": str.lower, "toupper": str.upper}[name](args[0])
    if name == "substringof":
        return args[0].lower() in args[1].lower()
    return getattr(args[0].lower(), name)(args[1].lower())


def _compare(op: str, left, right, ci: bool) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        left, right = _sql_string(left, ci), _sql_string(right, ci)
    if op in ("eq", "ne"):
        return (left == right) == (op == "eq")
    if left is None or right is None:
        return False
    return {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op]


def _sql_string(value: str, ci: bool) -> str:
    """A string as SQL Server compares it: the shorter one padded with spaces (so trailing spaces never count,
    'abc ' eq 'abc'), leading spaces significant (Exact's right-aligned account codes [C S5]); case ignored under
    the default collation (assumed [U]: no source confirms Exact's collation, `filter_case_insensitive` switches it).
    Only U+0020 is padding: a trailing tab or no-break space still counts."""
    value = value.rstrip(" ")
    return value.lower() if ci else value
