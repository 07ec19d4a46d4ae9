"""The schema as SDL, with descriptions (graphql-core 2's printer leaves them out)."""

from __future__ import annotations

from typing import Any

from graphql.language.printer import print_ast
from graphql.type.definition import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
)
from graphql.utils.ast_from_value import ast_from_value

BUILT_IN = frozenset({"String", "Boolean", "Int", "Float", "ID"})


def print_sdl(schema: Any) -> str:
    """Every type of `schema` (sorted by name), its fields, arguments and descriptions."""
    types = [
        graphql_type
        for name, graphql_type in sorted(schema.get_type_map().items())
        if not name.startswith("__") and name not in BUILT_IN
    ]
    blocks = [_schema_definition(schema)] + [_type(graphql_type) for graphql_type in types]
    return "\n\n".join(blocks) + "\n"


def _schema_definition(schema: Any) -> str:
    operations = [
        f"  {kind}: {graphql_type}"
        for kind, graphql_type in (
            ("query", schema.get_query_type()),
            ("mutation", schema.get_mutation_type()),
            ("subscription", schema.get_subscription_type()),
        )
        if graphql_type
    ]
    return "schema {\n" + "\n".join(operations) + "\n}"


def _type(graphql_type: Any) -> str:
    head = _description(graphql_type.description, "")
    if isinstance(graphql_type, GraphQLScalarType):
        return f"{head}scalar {graphql_type.name}"
    if isinstance(graphql_type, GraphQLUnionType):
        members = " | ".join(str(member) for member in graphql_type.types)
        return f"{head}union {graphql_type.name} = {members}"
    if isinstance(graphql_type, GraphQLEnumType):
        values = [
            _description(value.description, "  ") + f"  {value.name}{_deprecated(value)}"
            for value in graphql_type.values
        ]
        return f"{head}enum {graphql_type.name} {{\n" + "\n".join(values) + "\n}"
    if isinstance(graphql_type, GraphQLInputObjectType):
        fields = [
            _description(field.description, "  ") + "  " + _input_value(name, field)
            for name, field in graphql_type.fields.items()
        ]
        return f"{head}input {graphql_type.name} {{\n" + "\n".join(fields) + "\n}"
    keyword = "interface" if isinstance(graphql_type, GraphQLInterfaceType) else "type"
    implements = ""
    if isinstance(graphql_type, GraphQLObjectType) and graphql_type.interfaces:
        implements = " implements " + " & ".join(i.name for i in graphql_type.interfaces)
    fields = [
        _description(field.description, "  ")
        + f"  {name}{_arguments(field.args)}: {field.type}{_deprecated(field)}"
        for name, field in graphql_type.fields.items()
    ]
    return f"{head}{keyword} {graphql_type.name}{implements} {{\n" + "\n".join(fields) + "\n}"


def _arguments(args: dict[str, Any]) -> str:
    if not args:
        return ""
    return "(" + ", ".join(_input_value(name, arg) for name, arg in args.items()) + ")"


def _input_value(name: str, value: Any) -> str:
    default = ""
    if value.default_value is not None:
        default = " = " + print_ast(ast_from_value(value.default_value, value.type))
    return f"{name}: {value.type}{default}"


def _deprecated(item: Any) -> str:
    reason = getattr(item, "deprecation_reason", None)
    if reason is None:
        return ""
    return f" @deprecated(reason: {print_ast(ast_from_value(reason))})"


def _description(text: str | None, indent: str) -> str:
    if not text:
        return ""
    text = text.strip().replace('"""', '\\"""')
    if "\n" not in text:
        return f'{indent}"""{text}"""\n'
    lines = "\n".join(f"{indent}{line}".rstrip() for line in text.splitlines())
    return f'{indent}"""\n{lines}\n{indent}"""\n'
