"""The executor of Go's text/template: walks a parse tree over a value, with Go's rules for
fields, maps, methods, variables, pipelines, function calls and their argument types,
if/with/range (maps in sorted key order, break, continue), template calls, and Go's error
messages (`template: :1:2: executing "" at <.Foo>: can't evaluate field Foo in type T`).
"""

from runtime.gotemplate import nodes as n
from runtime.gotemplate.errors import TemplateError
from runtime.gotemplate.functions import CallError, Function
from runtime.gotemplate.goformat import quote, value_text
from runtime.gotemplate.values import (
    NIL_SLICE,
    NO_VALUE,
    Struct,
    TypedNil,
    method_of,
    sorted_keys,
    truth,
    type_name,
)


class ExecError(TemplateError):
    """A template that failed while running; `partial` is what it wrote before."""

    def __init__(self, message: str):
        super().__init__(message)
        self.partial = ""


MAX_EXEC_DEPTH = 50     # nested {{template}} calls


class _Missing:
    """The absent final argument of a command that is not in a pipeline."""


MISSING = _Missing()


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


_GO_TYPE = {"string": "string", "int": "int", "bool": "bool", "[]string": "[]string",
            "any": "interface {}", "value": "reflect.Value", None: "interface {}"}


def _byte_column(text: str, pos: int) -> tuple[int, int]:
    before = text[:pos]
    newline = before.rfind("\n")
    return 1 + before.count("\n"), len(before[newline + 1:].encode())


class State:
    def __init__(self, template, tree, out: list, depth: int = 0):
        self.template = template
        self.tree = tree
        self.out = out
        self.depth = depth
        self.node = None
        self.vars: list[list] = []

    # Errors.

    def errorf(self, message: str):
        name = self.tree.name
        if self.node is None:
            raise ExecError(f"template: {name}: {message}")
        line, column = _byte_column(self.tree.text, self.node.pos)
        location = f"{self.tree.parse_name}:{line}:{column}"
        raise ExecError(f"template: {location}: executing {quote(name)} at <{self.node}>: "
                        f"{message}")

    # Variables.

    def var_value(self, name: str):
        for entry in reversed(self.vars):
            if entry[0] == name:
                return entry[1]
        self.errorf(f"undefined variable: {name}")

    def set_var(self, name: str, value) -> None:
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return
        self.errorf(f"undefined variable: {name}")

    # Walking.

    def walk(self, dot, node) -> None:
        self.node = node
        if isinstance(node, n.ActionNode):
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.node = node
                if type(value) is str:
                    self.out.append(value)
                else:
                    self.out.append("<no value>" if value is NO_VALUE else value_text(value))
        elif isinstance(node, n.TextNode):
            self.out.append(node.text)
        elif isinstance(node, n.ListNode):
            for child in node.nodes:
                self.walk(dot, child)
        elif isinstance(node, (n.IfNode, n.WithNode)):
            mark = len(self.vars)
            try:
                value = self.eval_pipeline(dot, node.pipe)
                if truth(value):
                    self.walk(value if isinstance(node, n.WithNode) else dot, node.list)
                elif node.else_list is not None:
                    self.walk(dot, node.else_list)
            finally:
                del self.vars[mark:]
        elif isinstance(node, n.RangeNode):
            self.walk_range(dot, node)
        elif isinstance(node, n.BreakNode):
            raise _Break()
        elif isinstance(node, n.ContinueNode):
            raise _Continue()
        elif isinstance(node, n.TemplateNode):
            self.walk_template(dot, node)
        else:
            self.errorf(f"unknown node: {node}")

    def walk_range(self, dot, node: n.RangeNode) -> None:
        self.node = node
        mark = len(self.vars)
        decl, assign = node.pipe.decl, node.pipe.is_assign
        try:
            value = self.eval_pipeline(dot, node.pipe)
            body_mark = len(self.vars)

            def iteration(key, element):
                if decl:
                    if assign:
                        self.set_var(decl[0].ident[0], key if len(decl) > 1 else element)
                    else:
                        self.vars[-1][1] = element
                if len(decl) > 1:
                    if assign:
                        self.set_var(decl[1].ident[0], element)
                    else:
                        self.vars[-2][1] = key
                try:
                    self.walk(element, node.list)
                except _Continue:
                    pass
                finally:
                    del self.vars[body_mark:]

            if isinstance(value, int) and not isinstance(value, bool):
                if len(decl) > 1:
                    self.errorf(f"can't use {value} to iterate over more than one variable")
                entries = [(NO_VALUE, number) for number in range(value)]
            elif isinstance(value, (list, tuple)):
                entries = list(enumerate(value))
            elif isinstance(value, dict):
                entries = [(key, value[key]) for key in sorted_keys(value)]
            elif value is NO_VALUE or (isinstance(value, TypedNil) and value.kind != "ptr"):
                entries = []
            else:
                self.errorf(f"range can't iterate over {value_text(value)}")
            for key, element in entries:
                iteration(key, element)
            if not entries and node.else_list is not None:
                self.walk(dot, node.else_list)
        except _Break:
            pass
        finally:
            del self.vars[mark:]

    def walk_template(self, dot, node: n.TemplateNode) -> None:
        self.node = node
        tree = self.template.trees.get(node.name)
        if tree is None:
            self.errorf(f"template {quote(node.name)} not defined")
        if self.depth >= MAX_EXEC_DEPTH:
            self.errorf(f"exceeded maximum template depth ({MAX_EXEC_DEPTH})")
        dot = self.eval_pipeline(dot, node.pipe)
        state = State(self.template, tree, self.out, self.depth + 1)
        state.vars = [["$", dot]]
        state.walk(dot, tree.root)

    # Evaluation.

    def eval_pipeline(self, dot, pipe: n.PipeNode | None):
        if pipe is None:
            return NO_VALUE
        self.node = pipe
        value = MISSING
        for command in pipe.cmds:
            value = self.eval_command(dot, command, value)
            if value is None:           # a nil interface holds no value
                value = NO_VALUE
        for variable in pipe.decl:
            if pipe.is_assign:
                self.set_var(variable.ident[0], value)
            else:
                self.vars.append([variable.ident[0], value])
        return value

    def not_a_function(self, args: list, final) -> None:
        if len(args) > 1 or final is not MISSING:
            self.errorf(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot, command: n.CommandNode, final):
        first = command.args[0]
        if isinstance(first, n.FieldNode):
            return self.eval_field_node(dot, first, command.args, final)
        if isinstance(first, n.ChainNode):
            return self.eval_chain(dot, first, command.args, final)
        if isinstance(first, n.IdentifierNode):
            return self.eval_function(dot, first, command, command.args, final)
        if isinstance(first, n.PipeNode):
            self.not_a_function(command.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, n.VariableNode):
            return self.eval_variable(dot, first, command.args, final)
        self.node = first
        self.not_a_function(command.args, final)
        if isinstance(first, n.BoolNode):
            return first.value
        if isinstance(first, n.DotNode):
            return dot
        if isinstance(first, n.NilNode):
            self.errorf("nil is not a command")
        if isinstance(first, n.NumberNode):
            return self.ideal_constant(first)
        if isinstance(first, n.StringNode):
            return first.text
        self.errorf(f"can't evaluate command {quote(str(first))}")

    def ideal_constant(self, constant: n.NumberNode):
        self.node = constant
        text = constant.text
        if constant.is_complex:
            return constant.complex_value
        hex_int = len(text) > 2 and text[0] == "0" and text[1] in "xX" and \
            not any(c in text for c in "pP")
        if constant.is_float and not hex_int and not text.startswith("'") and \
                any(c in text for c in ".eEpP"):
            return constant.float_value
        if constant.is_int:
            return constant.int_value
        if constant.is_uint:
            self.errorf(f"{text} overflows int")
        return NO_VALUE

    def eval_chain(self, dot, chain: n.ChainNode, args, final):
        self.node = chain
        if isinstance(chain.node, n.NilNode):
            self.errorf(f"indirection through explicit nil in {chain}")
        receiver = self.eval_arg(dot, None, chain.node)
        return self.eval_field_chain(dot, receiver, chain, chain.fields, args, final)

    def eval_variable(self, dot, variable: n.VariableNode, args, final):
        self.node = variable
        value = self.var_value(variable.ident[0])
        if len(variable.ident) == 1:
            self.not_a_function(args or [variable], final)
            return value
        return self.eval_field_chain(dot, value, variable, variable.ident[1:], args, final)

    def eval_field_node(self, dot, field: n.FieldNode, args, final):
        self.node = field
        return self.eval_field_chain(dot, dot, field, field.ident, args, final)

    def eval_field_chain(self, dot, receiver, node, names: list, args, final):
        for name in names[:-1]:
            receiver = self.eval_field(dot, name, node, None, MISSING, receiver)
        return self.eval_field(dot, names[-1], node, args, final, receiver)

    def eval_field(self, dot, name: str, node, args, final, receiver):
        if receiver is NO_VALUE:
            return NO_VALUE
        method = method_of(receiver, name)
        if method is not None:
            function = Function(name, method.go_params, method)
            return self.eval_call(dot, function, node, name, args, final, receiver)
        has_args = (args is not None and len(args) > 1) or final is not MISSING
        if isinstance(receiver, Struct):
            try:
                value = receiver.get(name)
            except KeyError:
                if receiver.type_name is None:
                    self.errorf(f"map has no entry for key {quote(name)}")
                self.errorf(f"can't evaluate field {name} in type {receiver.type_name}")
            if has_args:
                self.errorf(f"{name} has arguments but cannot be invoked as function")
            return value
        if isinstance(receiver, dict) or (isinstance(receiver, TypedNil) and
                                          receiver.kind == "map"):
            if has_args:
                self.errorf(f"{name} is not a method but has arguments")
            return receiver.get(name, NO_VALUE) if isinstance(receiver, dict) else NO_VALUE
        if receiver is None:
            self.errorf(f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, TypedNil) and receiver.kind == "ptr":
            self.errorf(f"nil pointer evaluating {receiver.type_name}.{name}")
        self.errorf(f"can't evaluate field {name} in type {type_name(receiver)}")

    def eval_function(self, dot, node: n.IdentifierNode, command, args, final):
        self.node = node
        function = self.template.functions.get(node.ident)
        if function is None:
            self.errorf(f"{quote(node.ident)} is not a defined function")
        return self.eval_call(dot, function, command, node.ident, args, final)

    def eval_call(self, dot, function: Function, node, name: str, args, final,
                  receiver=MISSING):
        """Call a function, or a method of `receiver`, with Go's argument rules."""
        args = list(args[1:]) if args is not None else []
        count = len(args) + (final is not MISSING)
        params, variadic = function.params, function.variadic
        if variadic is not None:
            if count < len(params):
                self.errorf(f"wrong number of args for {name}: want at least {len(params)} "
                            f"got {len(args)}")
        elif count != len(params):
            self.errorf(f"wrong number of args for {name}: want {len(params)} got {count}")
        if function.builtin and name in ("and", "or"):
            value = NO_VALUE
            for arg in args:
                value = self.eval_arg(dot, "value", arg)
                if truth(value) == (name == "or"):
                    return value
            if final is not MISSING:
                value = self.validate_type(final, "value")
            return value
        fixed = len(params) if variadic is not None else len(args)
        argv = [self.eval_arg(dot, params[i], args[i]) for i in range(min(fixed, len(args)))]
        argv += [self.eval_arg(dot, variadic, arg) for arg in args[len(argv):]]
        if final is not MISSING:
            if variadic is None:
                wanted = params[-1]
            else:
                wanted = params[count - 1] if count - 1 < len(params) else variadic
            argv.append(self.validate_type(final, wanted))
        if function.builtin and name == "call":
            argv.insert(0, str(args[0]) if args else value_text(final))
        if receiver is not MISSING:
            argv.insert(0, receiver)
        try:
            return function.impl(*argv)
        except CallError as error:
            self.node = node
            self.errorf(f"error calling {name}: {error}")

    def eval_arg(self, dot, wanted, node):
        self.node = node
        if isinstance(node, n.DotNode):
            return self.validate_type(dot, wanted)
        if isinstance(node, n.NilNode):
            if wanted in ("any", "value", "[]string"):
                return {"any": None, "value": NO_VALUE, "[]string": NIL_SLICE}[wanted]
            self.errorf(f"cannot assign nil to {_GO_TYPE[wanted]}")
        if isinstance(node, n.FieldNode):
            return self.validate_type(self.eval_field_node(dot, node, [node], MISSING), wanted)
        if isinstance(node, n.VariableNode):
            return self.validate_type(self.eval_variable(dot, node, None, MISSING), wanted)
        if isinstance(node, n.PipeNode):
            return self.validate_type(self.eval_pipeline(dot, node), wanted)
        if isinstance(node, n.IdentifierNode):
            return self.validate_type(self.eval_function(dot, node, node, None, MISSING),
                                      wanted)
        if isinstance(node, n.ChainNode):
            return self.validate_type(self.eval_chain(dot, node, None, MISSING), wanted)
        if wanted == "bool":
            if isinstance(node, n.BoolNode):
                return node.value
            self.errorf(f"expected bool; found {node}")
        if wanted == "string":
            if isinstance(node, n.StringNode):
                return node.text
            self.errorf(f"expected string; found {node}")
        if wanted == "int":
            if isinstance(node, n.NumberNode) and node.is_int:
                return node.int_value
            self.errorf(f"expected integer; found {node}")
        if wanted in ("any", "value", None):
            if isinstance(node, n.BoolNode):
                return node.value
            if isinstance(node, n.NumberNode):
                return self.ideal_constant(node)
            if isinstance(node, n.StringNode):
                return node.text
        self.errorf(f"can't handle {node} for arg of type {_GO_TYPE.get(wanted, wanted)}")

    def validate_type(self, value, wanted):
        if value is NO_VALUE:
            if wanted in (None, "value"):
                return NO_VALUE
            if wanted == "any":
                return None
            if wanted == "[]string":
                return NIL_SLICE
            self.errorf(f"invalid value; expected {_GO_TYPE[wanted]}")
        if wanted in (None, "value", "any"):
            return value
        if wanted == "string" and isinstance(value, str):
            return value
        if wanted == "int" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if wanted == "bool" and isinstance(value, bool):
            return value
        if wanted == "[]string":
            if isinstance(value, TypedNil) and value.kind == "slice":
                return []
            if isinstance(value, (list, tuple)) and all(isinstance(i, str) for i in value):
                return list(value)
        got = "interface {}" if value is None else type_name(value)
        if wanted == "[]string" and isinstance(value, (list, tuple)):
            got = "[]interface {}"
        self.errorf(f"wrong type for value; expected {_GO_TYPE[wanted]}; got {got}")


def execute(template, value) -> str:
    """Run the template's main tree over `value`; ExecError with the partial output."""
    out: list[str] = []
    tree = template.trees[template.name]
    dot = NO_VALUE if value is None else value
    state = State(template, tree, out)
    state.vars = [["$", dot]]
    try:
        state.walk(dot, tree.root)
    except ExecError as error:
        error.partial = "".join(out)
        raise
    except RecursionError:
        error = ExecError(f"template: {template.name}: exceeded maximum template depth")
        error.partial = "".join(out)
        raise error from None
    return "".join(out)
