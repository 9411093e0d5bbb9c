"""The parser of Go's text/template: items to a tree of nodes, with Go's grammar (pipelines,
declarations, if/else if/with/range/break/continue, define/template/block, parenthesised
pipelines, field chains) and Go's error messages (`template: :1: unexpected "}" in
operand`)."""

from runtime.gotemplate import lexer as lx, nodes as n
from runtime.gotemplate.errors import TemplateError
from runtime.gotemplate.goformat import quote
from runtime.gotemplate.literals import number_node, unquote


class ParseError(TemplateError):
    """A template that does not parse; the message is Go's, with the line."""


MAX_PAREN_DEPTH = 100    # nested parentheses; Go allows 10000, Python's stack does not


class Tree:
    def __init__(self, name: str, root: n.ListNode, text: str, parse_name: str):
        self.name = name
        self.root = root
        self.text = text
        self.parse_name = parse_name


def _is_empty_tree(node) -> bool:
    if node is None:
        return True
    if isinstance(node, n.ListNode):
        return all(_is_empty_tree(child) for child in node.nodes)
    if isinstance(node, n.TextNode):
        return not node.text.strip()
    return False


class Parser:
    def __init__(self, text: str, name: str, functions):
        self.text = text
        self.name = name
        self.functions = functions
        self.items = lx.lex(text)
        self.index = 0
        self.token = [None, None, None]
        self.peek_count = 0
        self.vars = ["$"]
        self.range_depth = 0
        self.paren_depth = 0
        self.action_line = 0
        self.trees: dict[str, Tree] = {}

    # The token stream, with Go's three-token look-ahead.

    def fetch(self) -> lx.Item:
        item = self.items[min(self.index, len(self.items) - 1)]
        self.index += 1
        return item

    def next(self) -> lx.Item:
        if self.peek_count > 0:
            self.peek_count -= 1
        else:
            self.token[0] = self.fetch()
        return self.token[self.peek_count]

    def backup(self) -> None:
        self.peek_count += 1

    def backup2(self, first) -> None:
        self.token[1] = first
        self.peek_count = 2

    def backup3(self, first, second) -> None:
        self.token[1] = second
        self.token[2] = first
        self.peek_count = 3

    def peek(self) -> lx.Item:
        if self.peek_count > 0:
            return self.token[self.peek_count - 1]
        self.peek_count = 1
        self.token[0] = self.fetch()
        return self.token[0]

    def next_non_space(self) -> lx.Item:
        while True:
            token = self.next()
            if token.type != lx.SPACE:
                return token

    def peek_non_space(self) -> lx.Item:
        token = self.next_non_space()
        self.backup()
        return token

    # Errors.

    def errorf(self, message: str):
        line = self.token[0].line if self.token[0] is not None else 1
        raise ParseError(f"template: {self.name}:{line}: {message}")

    def expect(self, expected: str, context: str) -> lx.Item:
        token = self.next_non_space()
        if token.type != expected:
            self.unexpected(token, context)
        return token

    def unexpected(self, token: lx.Item, context: str):
        if token.type == lx.ERROR:
            extra = ""
            if self.action_line and self.action_line != token.line:
                extra = f" in action started at {self.name}:{self.action_line}"
                if token.value.endswith(" action"):
                    extra = extra[len(" in action"):]
            self.errorf(f"{token}{extra}")
        self.errorf(f"unexpected {token} in {context}")

    # The grammar.

    def parse(self) -> dict[str, Tree]:
        root = n.ListNode(self.peek().pos)
        while self.peek().type != lx.EOF:
            if self.peek().type == lx.LEFT_DELIM:
                delim = self.next()
                if self.next_non_space().type == lx.DEFINE:
                    self.parse_definition()
                    continue
                self.backup2(delim)
            node = self.text_or_action()
            if isinstance(node, (n.EndNode, n.ElseNode)):
                self.errorf(f"unexpected {node}")
            root.nodes.append(node)
        self.add(self.name, root)
        return self.trees

    def add(self, name: str, root: n.ListNode) -> None:
        existing = self.trees.get(name)
        if existing is None or _is_empty_tree(existing.root):
            self.trees[name] = Tree(name, root, self.text, self.name)
        elif not _is_empty_tree(root):
            self.errorf(f"template: multiple definition of template {quote(name)}")

    def parse_definition(self) -> None:
        context = "define clause"
        token = self.next_non_space()
        if token.type not in (lx.STRING, lx.RAW_STRING):
            self.unexpected(token, context)
        name = self.unquote(token.value)
        self.expect(lx.RIGHT_DELIM, context)
        root, end = self.sub_tree()
        if not isinstance(end, n.EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self.add(name, root)

    def sub_tree(self):
        """The list of a define or block body, with variables of its own."""
        saved = self.vars, self.range_depth
        self.vars, self.range_depth = ["$"], 0
        try:
            return self.item_list()
        finally:
            self.vars, self.range_depth = saved

    def item_list(self):
        body = n.ListNode(self.peek_non_space().pos)
        while self.peek_non_space().type != lx.EOF:
            node = self.text_or_action()
            if isinstance(node, (n.EndNode, n.ElseNode)):
                return body, node
            body.nodes.append(node)
        self.errorf("unexpected EOF")

    def text_or_action(self):
        token = self.next_non_space()
        if token.type == lx.TEXT:
            return n.TextNode(token.pos, token.value)
        if token.type == lx.LEFT_DELIM:
            self.action_line = token.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        self.unexpected(token, "input")

    def action(self):
        token = self.next_non_space()
        keyword = token.type
        if keyword == lx.BLOCK:
            return self.block_control()
        if keyword in (lx.BREAK, lx.CONTINUE):
            closing = self.next_non_space()
            if closing.type != lx.RIGHT_DELIM:
                self.unexpected(closing, "{{" + keyword + "}}")
            if self.range_depth == 0:
                self.errorf("{{" + keyword + "}} outside {{range}}")
            node_class = n.BreakNode if keyword == lx.BREAK else n.ContinueNode
            return node_class(token.pos, token.line)
        if keyword == lx.ELSE:
            return self.else_control()
        if keyword == lx.END:
            return n.EndNode(self.expect(lx.RIGHT_DELIM, "end").pos)
        if keyword == lx.IF:
            return n.IfNode(*self.parse_control("if"))
        if keyword == lx.RANGE:
            return n.RangeNode(*self.parse_control("range"))
        if keyword == lx.TEMPLATE:
            return self.template_control()
        if keyword == lx.WITH:
            return n.WithNode(*self.parse_control("with"))
        self.backup()
        token = self.peek()
        # Variables declared here live until the enclosing {{end}}.
        return n.ActionNode(token.pos, token.line, self.pipeline("command", lx.RIGHT_DELIM))

    def else_control(self):
        peek = self.peek_non_space()
        if peek.type in (lx.IF, lx.WITH):
            return n.ElseNode(peek.pos, peek.line)
        token = self.expect(lx.RIGHT_DELIM, "else")
        return n.ElseNode(token.pos, token.line)

    def parse_control(self, context: str):
        mark = len(self.vars)
        try:
            pipe = self.pipeline(context, lx.RIGHT_DELIM)
            if context == "range":
                self.range_depth += 1
            body, following = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_list = None
            if isinstance(following, n.ElseNode):
                # {{else if ...}} and {{else with ...}}: the inner control is parsed as the
                # only item of the else list and ends at the shared {{end}}.
                if context == "if" and self.peek().type == lx.IF:
                    self.next()
                    else_list = n.ListNode(following.pos)
                    else_list.nodes.append(n.IfNode(*self.parse_control("if")))
                elif context == "with" and self.peek().type == lx.WITH:
                    self.next()
                    else_list = n.ListNode(following.pos)
                    else_list.nodes.append(n.WithNode(*self.parse_control("with")))
                else:
                    else_list, following = self.item_list()
                    if not isinstance(following, n.EndNode):
                        self.errorf(f"expected end; found {following}")
            return pipe.pos, pipe.line, pipe, body, else_list
        finally:
            del self.vars[mark:]

    def block_control(self):
        context = "block clause"
        token = self.next_non_space()
        name = self.template_name(token, context)
        pipe = self.pipeline(context, lx.RIGHT_DELIM)
        root, end = self.sub_tree()
        if not isinstance(end, n.EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self.add(name, root)
        return n.TemplateNode(token.pos, token.line, name, pipe)

    def template_control(self):
        context = "template clause"
        token = self.next_non_space()
        name = self.template_name(token, context)
        pipe = None
        if self.next_non_space().type != lx.RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline(context, lx.RIGHT_DELIM)
        return n.TemplateNode(token.pos, token.line, name, pipe)

    def template_name(self, token: lx.Item, context: str) -> str:
        if token.type in (lx.STRING, lx.RAW_STRING):
            return self.unquote(token.value)
        self.unexpected(token, context)

    def pipeline(self, context: str, end: str) -> n.PipeNode:
        token = self.peek_non_space()
        pipe = n.PipeNode(token.pos, token.line)
        while True:     # declarations: $x := ..., $i, $v := ..., $x = ...
            variable = self.peek_non_space()
            if variable.type != lx.VARIABLE:
                break
            self.next()
            after_variable = self.peek()
            following = self.peek_non_space()
            if following.type in (lx.ASSIGN, lx.DECLARE):
                pipe.is_assign = following.type == lx.ASSIGN
                self.next_non_space()
                pipe.decl.append(n.VariableNode(variable.pos, variable.value))
                self.vars.append(variable.value)
            elif following.type == lx.CHAR and following.value == ",":
                self.next_non_space()
                pipe.decl.append(n.VariableNode(variable.pos, variable.value))
                self.vars.append(variable.value)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().type in (lx.VARIABLE, lx.RIGHT_DELIM,
                                                      lx.RIGHT_PAREN):
                        continue
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            elif after_variable.type == lx.SPACE:
                self.backup3(variable, after_variable)
            else:
                self.backup2(variable)
            break
        while True:
            token = self.next_non_space()
            if token.type == end:
                self.check_pipeline(pipe, context)
                return pipe
            if token.type in (lx.BOOL, lx.CHAR_CONSTANT, lx.COMPLEX, lx.DOT, lx.FIELD,
                              lx.IDENTIFIER, lx.NUMBER, lx.NIL, lx.RAW_STRING, lx.STRING,
                              lx.VARIABLE, lx.LEFT_PAREN):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(token, context)

    def check_pipeline(self, pipe: n.PipeNode, context: str) -> None:
        if not pipe.cmds:
            self.errorf(f"missing value for {context}")
        for stage, command in enumerate(pipe.cmds[1:], start=2):
            if isinstance(command.args[0], (n.BoolNode, n.DotNode, n.NilNode, n.NumberNode,
                                            n.StringNode)):
                self.errorf(f"non executable command in pipeline stage {stage}")

    def command(self) -> n.CommandNode:
        command = n.CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                command.args.append(operand)
            token = self.next()
            if token.type == lx.SPACE:
                continue
            if token.type in (lx.RIGHT_DELIM, lx.RIGHT_PAREN):
                self.backup()
            elif token.type != lx.PIPE:
                self.unexpected(token, "operand")
            break
        if not command.args:
            self.errorf("empty command")
        return command

    def operand(self):
        node = self.term()
        if node is None:
            return None
        if self.peek().type == lx.FIELD:
            chain = n.ChainNode(self.peek().pos, node)
            while self.peek().type == lx.FIELD:
                chain.fields.append(self.next().value[1:])
            if isinstance(node, n.FieldNode):
                return n.FieldNode(chain.pos, str(chain))
            if isinstance(node, n.VariableNode):
                return n.VariableNode(chain.pos, str(chain))
            if isinstance(node, (n.BoolNode, n.StringNode, n.NumberNode, n.NilNode,
                                 n.DotNode)):
                self.errorf(f"unexpected . after term {quote(str(node))}")
            return chain
        return node

    def term(self):
        token = self.next_non_space()
        kind = token.type
        if kind == lx.IDENTIFIER:
            if token.value not in self.functions:
                self.errorf(f"function {quote(token.value)} not defined")
            return n.IdentifierNode(token.pos, token.value)
        if kind == lx.DOT:
            return n.DotNode(token.pos)
        if kind == lx.NIL:
            return n.NilNode(token.pos)
        if kind == lx.VARIABLE:
            variable = n.VariableNode(token.pos, token.value)
            if variable.ident[0] not in self.vars:
                self.errorf(f"undefined variable {quote(variable.ident[0])}")
            return variable
        if kind == lx.FIELD:
            return n.FieldNode(token.pos, token.value)
        if kind == lx.BOOL:
            return n.BoolNode(token.pos, token.value == "true")
        if kind in (lx.CHAR_CONSTANT, lx.COMPLEX, lx.NUMBER):
            return self.number(token)
        if kind == lx.LEFT_PAREN:
            if self.paren_depth >= MAX_PAREN_DEPTH:
                self.errorf("max expression depth exceeded")
            self.paren_depth += 1
            try:
                return self.pipeline("parenthesized pipeline", lx.RIGHT_PAREN)
            finally:
                self.paren_depth -= 1
        if kind in (lx.STRING, lx.RAW_STRING):
            return n.StringNode(token.pos, token.value, self.unquote(token.value))
        self.backup()
        return None

    def unquote(self, quoted: str) -> str:
        try:
            return unquote(quoted)
        except ValueError as error:
            self.errorf(str(error))

    def number(self, token: lx.Item) -> n.NumberNode:
        try:
            return number_node(token.pos, token.value, token.type)
        except ValueError as error:
            self.errorf(str(error))


def parse(text: str, name: str, functions) -> dict[str, Tree]:
    """Every template `text` defines, by name (the text itself is `name`); ParseError."""
    try:
        return Parser(text, name, functions).parse()
    except RecursionError:
        raise ParseError(f"template: {name}: max expression depth exceeded") from None
