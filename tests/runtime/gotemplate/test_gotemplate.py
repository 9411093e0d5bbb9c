"""Go's text/template semantics, table-driven.

The cases are Go's own (`text/template/exec_test.go`: execTests, cmpTests, the missing-key
and error tests), adapted where Go's data uses types Python has no equal for (unsigned
integers, pointers, channels, function values), Docker's (`templates/templates_test.go`),
and outputs of Go's text/template and fmt recorded for the constructs Docker users write.
"""

import pytest

from runtime.gotemplate import (
    NIL_MAP,
    NIL_POINTER,
    NIL_SLICE,
    Struct,
    Template,
    TemplateError,
    go_method,
    render,
)
from runtime.gotemplate.functions import CallError


class U(Struct):
    @go_method("bool")
    def TrueFalse(self, value):
        return "true" if value else ""


class T(Struct):
    """Go's test value tVal: fields and methods."""

    @go_method()
    def Method0(self):
        return "M0"

    @go_method("int")
    def Method1(self, value):
        return value

    @go_method("int", "string")
    def Method2(self, number, text):
        return f"Method2: {number} {text}"

    @go_method("any")
    def Method3(self, value):
        return "Method3: " + render("{{print .}}", [value])[1:-1]

    @go_method("int", "[]string")
    def MAdd(self, number, items):
        return [number + int(item) for item in items]

    @go_method("bool")
    def MyError(self, fail):
        if fail:
            raise CallError("my error")
        return False

    @go_method()
    def GetU(self):
        return self.get("U")


T_VALUE = T({
    "True": True, "I": 17, "U16": 16, "X": "x", "S": "xyz", "FloatZero": 0.0,
    "U": U({"V": "v"}),
    "SI": [3, 4, 5], "SIEmpty": [], "SB": [True, False], "AI": [3, 4, 5],
    "MSI": {"one": 1, "two": 2, "three": 3}, "MSIone": {"one": 1}, "MSIEmpty": {},
    "MXI": {"one": 1},
    "SMSI": [{"one": 1, "two": 2}, {"eleven": 11, "twelve": 12}],
    "Empty0": None, "Empty1": 3, "Empty2": "empty2", "Empty3": [7, 8],
    "Empty4": Struct({"V": "UinEmpty"}, "*template.U"),
    "NIL": NIL_POINTER, "NilSlice": NIL_SLICE, "NilMap": NIL_MAP,
    "Tmpl": "test template",
}, "*template.T")

# (name, template, data, expected output or None when it must fail)
EXEC_CASES = [
    # Trivial cases.
    ("empty", "", None, ""),
    ("text", "some text", None, "some text"),
    ("nil action", "{{nil}}", None, None),
    # Ideal constants.
    ("ideal int", "{{printf `%T` 3}}", 0, "int"),
    ("ideal float", "{{printf `%T` 1.0}}", 0, "float64"),
    ("ideal exp float", "{{printf `%T` 1e1}}", 0, "float64"),
    ("ideal complex", "{{printf `%T` 1i}}", 0, "complex128"),
    ("ideal int max", "{{printf `%T` 0x7fffffffffffffff}}", 0, "int"),
    ("ideal too big", "{{printf `%T` 0x8000000000000000}}", 0, None),
    # Fields of structs.
    (".X", "-{{.X}}-", T_VALUE, "-x-"),
    (".U.V", "-{{.U.V}}-", T_VALUE, "-v-"),
    (".unknown", "{{.unknown}}", T_VALUE, None),
    # Fields on maps.
    ("map .one", "{{.MSI.one}}", T_VALUE, "1"),
    ("map .two", "{{.MSI.two}}", T_VALUE, "2"),
    ("map .NO", "{{.MSI.NO}}", T_VALUE, "<no value>"),
    ("map .one interface", "{{.MXI.one}}", T_VALUE, "1"),
    ("map .WRONG args", "{{.MSI.one 1}}", T_VALUE, None),
    # Dots of all kinds.
    ("dot int", "<{{.}}>", 13, "<13>"),
    ("dot float", "<{{.}}>", 15.1, "<15.1>"),
    ("dot bool", "<{{.}}>", True, "<true>"),
    ("dot complex", "<{{.}}>", 16.2 - 17j, "<(16.2-17i)>"),
    ("dot string", "<{{.}}>", "hello", "<hello>"),
    ("dot slice", "<{{.}}>", [-1, -2, -3], "<[-1 -2 -3]>"),
    ("dot map", "<{{.}}>", {"two": 22}, "<map[two:22]>"),
    ("dot struct", "<{{.}}>", Struct({"a": 7, "b": "seven"}), "<{7 seven}>"),
    # Variables.
    ("$ int", "{{$}}", 123, "123"),
    ("$.I", "{{$.I}}", T_VALUE, "17"),
    ("$.U.V", "{{$.U.V}}", T_VALUE, "v"),
    ("declare in action", "{{$x := $.U.V}}{{$x}}", T_VALUE, "v"),
    ("simple assignment", "{{$x := 2}}{{$x = 3}}{{$x}}", T_VALUE, "3"),
    ("nested assignment", "{{$x := 2}}{{if true}}{{$x = 3}}{{end}}{{$x}}", T_VALUE, "3"),
    ("nested assignment changes the last declaration",
     "{{$x := 1}}{{if true}}{{$x := 2}}{{if true}}{{$x = 3}}{{end}}{{end}}{{$x}}",
     T_VALUE, "1"),
    # Typed nils.
    ("NIL", "{{.NIL}}", T_VALUE, "<nil>"),
    ("nil slice", "{{.NilSlice}} {{len .NilSlice}}", T_VALUE, "[] 0"),
    ("nil map", "{{.NilMap}} {{.NilMap.k}}", T_VALUE, "map[] <no value>"),
    ("field of nil pointer", "{{.NIL.X}}", T_VALUE, None),
    # Empty interfaces holding values.
    ("empty nil", "{{.Empty0}}", T_VALUE, "<no value>"),
    ("empty with int", "{{.Empty1}}", T_VALUE, "3"),
    ("empty with string", "{{.Empty2}}", T_VALUE, "empty2"),
    ("empty with slice", "{{.Empty3}}", T_VALUE, "[7 8]"),
    ("empty with struct", "{{.Empty4}}", T_VALUE, "{UinEmpty}"),
    ("empty with struct, field", "{{.Empty4.V}}", T_VALUE, "UinEmpty"),
    ("field on interface", "{{.foo}}", None, "<no value>"),
    ("field on parenthesized interface", "{{(.).foo}}", None, "<no value>"),
    ("unparenthesized non-function", "{{1 2}}", None, None),
    ("parenthesized non-function", "{{(1) 2}}", None, None),
    ("parenthesized non-function with no args", "{{(1)}}", None, "1"),
    # Method calls.
    (".Method0", "-{{.Method0}}-", T_VALUE, "-M0-"),
    (".Method1(1234)", "-{{.Method1 1234}}-", T_VALUE, "-1234-"),
    (".Method1(.I)", "-{{.Method1 .I}}-", T_VALUE, "-17-"),
    (".Method2(3, .X)", "-{{.Method2 3 .X}}-", T_VALUE, "-Method2: 3 x-"),
    (".Method2(.U16, `str`)", "-{{.Method2 .U16 `str`}}-", T_VALUE, "-Method2: 16 str-"),
    (".Method2(.U16, $x)", "{{if $x := .X}}-{{.Method2 .U16 $x}}{{end}}-", T_VALUE,
     "-Method2: 16 x-"),
    (".Method3(nil constant)", "-{{.Method3 nil}}-", T_VALUE, "-Method3: <nil>-"),
    (".Method3(nil value)", "-{{.Method3 .MXI.unset}}-", T_VALUE, "-Method3: <nil>-"),
    ("method on var", "{{if $x := .}}-{{$x.Method2 .U16 $x.X}}{{end}}-", T_VALUE,
     "-Method2: 16 x-"),
    ("method on chained var",
     "{{range .MSIone}}{{if $.U.TrueFalse $.True}}{{$.U.TrueFalse $.True}}{{else}}WRONG"
     "{{end}}{{end}}", T_VALUE, "true"),
    ("chained method",
     "{{range .MSIone}}{{if $.GetU.TrueFalse $.True}}{{$.U.TrueFalse $.True}}{{else}}WRONG"
     "{{end}}{{end}}", T_VALUE, "true"),
    ("chained method on variable",
     "{{with $x := .}}{{with .SI}}{{$.GetU.TrueFalse $.True}}{{end}}{{end}}", T_VALUE, "true"),
    ("method wrong args", "{{.Method1}}", T_VALUE, None),
    ("method wrong type", "{{.Method1 `x`}}", T_VALUE, None),
    # Pipelines.
    ("pipeline", "-{{.Method0 | .Method2 .U16}}-", T_VALUE, "-Method2: 16 M0-"),
    ("pipeline func", "-{{`llo` | printf `%s%s` `he`}}-", T_VALUE, "-hello-"),
    # Parenthesized expressions.
    ("parens in pipeline", "{{printf `%d %d %d` (1) (2 | printf `%d`| len) (len (print 12))}}",
     T_VALUE, "1 1 2"),
    ("parens: $ in paren", "{{($).X}}", T_VALUE, "x"),
    ("parens: $.GetU in paren", "{{($.GetU).V}}", T_VALUE, "v"),
    ("parens: $ in paren in pipe", "{{($ | print).X}}", T_VALUE, None),
    ("parens: map in paren", "{{(index .SMSI 1).eleven}}", T_VALUE, "11"),
    # If.
    ("if true", "{{if true}}TRUE{{end}}", T_VALUE, "TRUE"),
    ("if false", "{{if false}}TRUE{{else}}FALSE{{end}}", T_VALUE, "FALSE"),
    ("if nil", "{{if nil}}TRUE{{end}}", T_VALUE, None),
    ("if 1", "{{if 1}}NON-ZERO{{else}}ZERO{{end}}", T_VALUE, "NON-ZERO"),
    ("if 0", "{{if 0}}NON-ZERO{{else}}ZERO{{end}}", T_VALUE, "ZERO"),
    ("if 1.5", "{{if 1.5}}NON-ZERO{{else}}ZERO{{end}}", T_VALUE, "NON-ZERO"),
    ("if 0.0", "{{if .FloatZero}}NON-ZERO{{else}}ZERO{{end}}", T_VALUE, "ZERO"),
    ("if 1.5i", "{{if 1.5i}}NON-ZERO{{else}}ZERO{{end}}", T_VALUE, "NON-ZERO"),
    ("if nilPointer", "{{if .NIL}}NON-ZERO{{else}}ZERO{{end}}", T_VALUE, "ZERO"),
    ("if emptystring", "{{if ``}}NON-EMPTY{{else}}EMPTY{{end}}", T_VALUE, "EMPTY"),
    ("if string", "{{if `notempty`}}NON-EMPTY{{else}}EMPTY{{end}}", T_VALUE, "NON-EMPTY"),
    ("if emptyslice", "{{if .SIEmpty}}NON-EMPTY{{else}}EMPTY{{end}}", T_VALUE, "EMPTY"),
    ("if slice", "{{if .SI}}NON-EMPTY{{else}}EMPTY{{end}}", T_VALUE, "NON-EMPTY"),
    ("if emptymap", "{{if .MSIEmpty}}NON-EMPTY{{else}}EMPTY{{end}}", T_VALUE, "EMPTY"),
    ("if map", "{{if .MSI}}NON-EMPTY{{else}}EMPTY{{end}}", T_VALUE, "NON-EMPTY"),
    ("if map unset", "{{if .MXI.none}}NON-ZERO{{else}}ZERO{{end}}", T_VALUE, "ZERO"),
    ("if map not unset", "{{if not .MXI.none}}ZERO{{else}}NON-ZERO{{end}}", T_VALUE, "ZERO"),
    ("if $x with $y int", "{{if $x := true}}{{with $y := .I}}{{$x}},{{$y}}{{end}}{{end}}",
     T_VALUE, "true,17"),
    ("if $x with $x int", "{{if $x := true}}{{with $x := .I}}{{$x}},{{end}}{{$x}}{{end}}",
     T_VALUE, "17,true"),
    ("if else if", "{{if false}}FALSE{{else if true}}TRUE{{end}}", T_VALUE, "TRUE"),
    ("if else chain", "{{if eq 1 3}}1{{else if eq 2 3}}2{{else if eq 3 3}}3{{end}}",
     T_VALUE, "3"),
    # Print etc.
    ("print", '{{print "hello, print"}}', T_VALUE, "hello, print"),
    ("print 123", "{{print 1 2 3}}", T_VALUE, "1 2 3"),
    ("print nil", "{{print nil}}", T_VALUE, "<nil>"),
    ("println", "{{println 1 2 3}}", T_VALUE, "1 2 3\n"),
    ("printf int", '{{printf "%04x" 127}}', T_VALUE, "007f"),
    ("printf float", '{{printf "%g" 3.5}}', T_VALUE, "3.5"),
    ("printf complex", '{{printf "%g" 1+7i}}', T_VALUE, "(1+7i)"),
    ("printf string", '{{printf "%s" "hello"}}', T_VALUE, "hello"),
    ("printf field", '{{printf "%s" .U.V}}', T_VALUE, "v"),
    ("printf method", '{{printf "%s" .Method0}}', T_VALUE, "M0"),
    ("printf dot", '{{with .I}}{{printf "%d" .}}{{end}}', T_VALUE, "17"),
    ("printf var", '{{with $x := .I}}{{printf "%d" $x}}{{end}}', T_VALUE, "17"),
    ("printf lots", '{{printf "%d %s %g %s" 127 "hello" 7-3i .Method0}}', T_VALUE,
     "127 hello (7-3i) M0"),
    # HTML, JavaScript, URL query.
    ("html", '{{html "<script>alert(\\"XSS\\");</script>"}}', None,
     "&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;"),
    ("html pipeline", '{{printf "<script>alert(\\"XSS\\");</script>" | html}}', None,
     "&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;"),
    ("html typed nil", "{{html .NIL}}", T_VALUE, "&lt;nil&gt;"),
    ("html untyped nil", "{{html .Empty0}}", T_VALUE, "&lt;no value&gt;"),
    ("js", "{{js .}}", "It'd be nice.", "It\\'d be nice."),
    ("urlquery", '{{"http://www.example.org/"|urlquery}}', None,
     "http%3A%2F%2Fwww.example.org%2F"),
    # Booleans.
    ("not", "{{not true}} {{not false}}", None, "false true"),
    ("and", "{{and false 0}} {{and 1 0}} {{and 0 true}} {{and 1 1}}", None, "false 0 0 1"),
    ("or", "{{or 0 0}} {{or 1 0}} {{or 0 true}} {{or 1 1}}", None, "0 1 true 1"),
    ("or short-circuit", "{{or 0 1 (index nil 0)}}", None, "1"),
    ("and short-circuit", "{{and 1 0 (index nil 0)}}", None, "0"),
    ("or short-circuit2", "{{or 0 0 (index nil 0)}}", None, None),
    ("and short-circuit2", "{{and 1 1 (index nil 0)}}", None, None),
    ("and pipe-true", "{{1 | and 1}}", None, "1"),
    ("and pipe-false", "{{0 | and 1}}", None, "0"),
    ("or pipe-true", "{{1 | or 0}}", None, "1"),
    ("or pipe-false", "{{0 | or 0}}", None, "0"),
    ("and undef", "{{and 1 .Unknown}}", None, "<no value>"),
    ("or undef", "{{or 0 .Unknown}}", None, "<no value>"),
    ("boolean if", "{{if and true 1 `hi`}}TRUE{{else}}FALSE{{end}}", T_VALUE, "TRUE"),
    ("boolean if not", "{{if and true 1 `hi` | not}}TRUE{{else}}FALSE{{end}}", None, "FALSE"),
    ("boolean if pipe", "{{if true | not | and 1}}TRUE{{else}}FALSE{{end}}", None, "FALSE"),
    # Indexing.
    ("slice[0]", "{{index .SI 0}}", T_VALUE, "3"),
    ("slice[1]", "{{index .SI 1}}", T_VALUE, "4"),
    ("slice[HUGE]", "{{index .SI 10}}", T_VALUE, None),
    ("slice[WRONG]", "{{index .SI `hello`}}", T_VALUE, None),
    ("slice[nil]", "{{index .SI nil}}", T_VALUE, None),
    ("map[one]", "{{index .MSI `one`}}", T_VALUE, "1"),
    ("map[two]", "{{index .MSI `two`}}", T_VALUE, "2"),
    ("map[nil]", "{{index .MSI nil}}", T_VALUE, None),
    ("map[WRONG]", "{{index .MSI 10}}", T_VALUE, None),
    ("double index", "{{index .SMSI 1 `eleven`}}", T_VALUE, "11"),
    ("nil[1]", "{{index nil 1}}", T_VALUE, None),
    ("index of an interface field", "{{index .Empty3 0}}", T_VALUE, "7"),
    ("index of string map, missing", '{{index . "nope"}}|', {"k": "v"}, "|"),
    ("index of string", "{{index `abc` 1}}", None, "98"),
    # Slicing.
    ("slice[:]", "{{slice .SI}}", T_VALUE, "[3 4 5]"),
    ("slice[1:]", "{{slice .SI 1}}", T_VALUE, "[4 5]"),
    ("slice[1:2]", "{{slice .SI 1 2}}", T_VALUE, "[4]"),
    ("slice[-1:]", "{{slice .SI -1}}", T_VALUE, None),
    ("slice[1:-2]", "{{slice .SI 1 -2}}", T_VALUE, None),
    ("slice[1:2:-1]", "{{slice .SI 1 2 -1}}", T_VALUE, None),
    ("slice[2:1]", "{{slice .SI 2 1}}", T_VALUE, None),
    ("slice[2:2:1]", "{{slice .SI 2 2 1}}", T_VALUE, None),
    ("out of range", "{{slice .SI 4 5}}", T_VALUE, None),
    ("array[1:2]", "{{slice .AI 1 2}}", T_VALUE, "[4]"),
    ("string[:]", "{{slice .S}}", T_VALUE, "xyz"),
    ("string[0:1]", "{{slice .S 0 1}}", T_VALUE, "x"),
    ("string[1:]", "{{slice .S 1}}", T_VALUE, "yz"),
    ("string[1:2]", "{{slice .S 1 2}}", T_VALUE, "y"),
    ("out of range string", "{{slice .S 1 5}}", T_VALUE, None),
    ("3-index slice of string", "{{slice .S 1 2 2}}", T_VALUE, None),
    ("slice of an interface field", "{{slice .Empty3 0 1}}", T_VALUE, "[7]"),
    # Len.
    ("len slice", "{{len .SI}}", T_VALUE, "3"),
    ("len map", "{{len .MSI }}", T_VALUE, "3"),
    ("len of int", "{{len 3}}", T_VALUE, None),
    ("len of nothing", "{{len .Empty0}}", T_VALUE, None),
    ("len of an interface field", "{{len .Empty3}}", T_VALUE, "2"),
    ("len of string counts bytes", "{{len `héllo`}}", None, "6"),
    # With.
    ("with true", "{{with true}}{{.}}{{end}}", T_VALUE, "true"),
    ("with false", "{{with false}}{{.}}{{else}}FALSE{{end}}", T_VALUE, "FALSE"),
    ("with 1", "{{with 1}}{{.}}{{else}}ZERO{{end}}", T_VALUE, "1"),
    ("with 0", "{{with 0}}{{.}}{{else}}ZERO{{end}}", T_VALUE, "ZERO"),
    ("with 1.5", "{{with 1.5}}{{.}}{{else}}ZERO{{end}}", T_VALUE, "1.5"),
    ("with 0.0", "{{with .FloatZero}}{{.}}{{else}}ZERO{{end}}", T_VALUE, "ZERO"),
    ("with 1.5i", "{{with 1.5i}}{{.}}{{else}}ZERO{{end}}", T_VALUE, "(0+1.5i)"),
    ("with emptystring", "{{with ``}}{{.}}{{else}}EMPTY{{end}}", T_VALUE, "EMPTY"),
    ("with string", "{{with `notempty`}}{{.}}{{else}}EMPTY{{end}}", T_VALUE, "notempty"),
    ("with emptyslice", "{{with .SIEmpty}}{{.}}{{else}}EMPTY{{end}}", T_VALUE, "EMPTY"),
    ("with slice", "{{with .SI}}{{.}}{{else}}EMPTY{{end}}", T_VALUE, "[3 4 5]"),
    ("with emptymap", "{{with .MSIEmpty}}{{.}}{{else}}EMPTY{{end}}", T_VALUE, "EMPTY"),
    ("with map", "{{with .MSIone}}{{.}}{{else}}EMPTY{{end}}", T_VALUE, "map[one:1]"),
    ("with empty interface, struct field", "{{with .Empty4}}{{.V}}{{end}}", T_VALUE,
     "UinEmpty"),
    ("with $x int", "{{with $x := .I}}{{$x}}{{end}}", T_VALUE, "17"),
    ("with $x struct.U.V", "{{with $x := $}}{{$x.U.V}}{{end}}", T_VALUE, "v"),
    ("with variable and action", "{{with $x := $}}{{$y := $.U.V}}{{$y}}{{end}}", T_VALUE, "v"),
    ("with else with", "{{with 0}}{{.}}{{else with true}}{{.}}{{end}}", T_VALUE, "true"),
    ("with else with chain",
     "{{with 0}}{{.}}{{else with false}}{{.}}{{else with `notempty`}}{{.}}{{end}}",
     T_VALUE, "notempty"),
    # Range.
    ("range []int", "{{range .SI}}-{{.}}-{{end}}", T_VALUE, "-3--4--5-"),
    ("range empty no else", "{{range .SIEmpty}}-{{.}}-{{end}}", T_VALUE, ""),
    ("range []int else", "{{range .SI}}-{{.}}-{{else}}EMPTY{{end}}", T_VALUE, "-3--4--5-"),
    ("range empty else", "{{range .SIEmpty}}-{{.}}-{{else}}EMPTY{{end}}", T_VALUE, "EMPTY"),
    ("range []int break else", "{{range .SI}}-{{.}}-{{break}}NOTREACHED{{else}}EMPTY{{end}}",
     T_VALUE, "-3-"),
    ("range []int continue else",
     "{{range .SI}}-{{.}}-{{continue}}NOTREACHED{{else}}EMPTY{{end}}", T_VALUE, "-3--4--5-"),
    ("range []bool", "{{range .SB}}-{{.}}-{{end}}", T_VALUE, "-true--false-"),
    ("range []int method", "{{range .SB | len | .MAdd .I | print | len}}{{.}}{{end}}",
     T_VALUE, None),
    ("range map", "{{range .MSI}}-{{.}}-{{end}}", T_VALUE, "-1--3--2-"),
    ("range empty map no else", "{{range .MSIEmpty}}-{{.}}-{{end}}", T_VALUE, ""),
    ("range map else", "{{range .MSI}}-{{.}}-{{else}}EMPTY{{end}}", T_VALUE, "-1--3--2-"),
    ("range empty map else", "{{range .MSIEmpty}}-{{.}}-{{else}}EMPTY{{end}}", T_VALUE,
     "EMPTY"),
    ("range empty interface", "{{range .Empty3}}-{{.}}-{{else}}EMPTY{{end}}", T_VALUE,
     "-7--8-"),
    ("range empty nil", "{{range .Empty0}}-{{.}}-{{end}}", T_VALUE, ""),
    ("range $x SI", "{{range $x := .SI}}<{{$x}}>{{end}}", T_VALUE, "<3><4><5>"),
    ("range $x $y SI", "{{range $x, $y := .SI}}<{{$x}}={{$y}}>{{end}}", T_VALUE,
     "<0=3><1=4><2=5>"),
    ("range $x MSIone", "{{range $x := .MSIone}}<{{$x}}>{{end}}", T_VALUE, "<1>"),
    ("range $x $y MSIone", "{{range $x, $y := .MSIone}}<{{$x}}={{$y}}>{{end}}", T_VALUE,
     "<one=1>"),
    ("declare in range", "{{range $x := .SI}}<{{$foo:=$x}}{{$x}}>{{end}}", T_VALUE,
     "<3><4><5>"),
    ("range 5", '{{range $v := 5}}{{printf "%T%d" $v $v}}{{end}}', None,
     "int0int1int2int3int4"),
    ("range int two variables", "{{range $i, $v := 5}}{{end}}", None, None),
    ("range over a string", "{{range .S}}{{end}}", T_VALUE, None),
    ("issue56490", "{{$i := 0}}{{$x := 0}}{{range $i = .AI}}{{end}}{{$i}}", T_VALUE, "5"),
    ("issue60801", "{{$k := 0}}{{$v := 0}}{{range $k, $v = .AI}}{{$k}}={{$v}} {{end}}",
     T_VALUE, "0=3 1=4 2=5 "),
    # Cute examples.
    ("or as if true", '{{or .SI "slice is empty"}}', T_VALUE, "[3 4 5]"),
    ("or as if false", '{{or .SIEmpty "slice is empty"}}', T_VALUE, "slice is empty"),
    # Error handling.
    ("error method, error", "{{.MyError true}}", T_VALUE, None),
    ("error method, no error", "{{.MyError false}}", T_VALUE, "false"),
    # Numbers.
    ("decimal", "{{print 1234}}", T_VALUE, "1234"),
    ("decimal _", "{{print 12_34}}", T_VALUE, "1234"),
    ("binary", "{{print 0b101}}", T_VALUE, "5"),
    ("binary _", "{{print 0b_1_0_1}}", T_VALUE, "5"),
    ("BINARY", "{{print 0B101}}", T_VALUE, "5"),
    ("octal0", "{{print 0377}}", T_VALUE, "255"),
    ("octal", "{{print 0o377}}", T_VALUE, "255"),
    ("octal _", "{{print 0o_3_7_7}}", T_VALUE, "255"),
    ("OCTAL", "{{print 0O377}}", T_VALUE, "255"),
    ("hex", "{{print 0x123}}", T_VALUE, "291"),
    ("hex _", "{{print 0x1_23}}", T_VALUE, "291"),
    ("HEX", "{{print 0X123ABC}}", T_VALUE, "1194684"),
    ("float", "{{print 123.4}}", T_VALUE, "123.4"),
    ("float _", "{{print 0_0_1_2_3.4}}", T_VALUE, "123.4"),
    ("hex float", "{{print +0x1.ep+2}}", T_VALUE, "7.5"),
    ("hex float _", "{{print +0x_1.e_0p+0_2}}", T_VALUE, "7.5"),
    ("HEX float", "{{print +0X1.EP+2}}", T_VALUE, "7.5"),
    ("print multi", "{{print 1_2_3_4 7.5_00_00_00}}", T_VALUE, "1234 7.5"),
    ("print multi2", "{{print 1234 0x0_1.e_0p+02}}", T_VALUE, "1234 7.5"),
    # Fixed bugs.
    ("bug0", "{{range .MSIone}}{{if $.Method1 .}}X{{end}}{{end}}", T_VALUE, "X"),
    ("bug3", "{{with $}}{{.Method0}}{{end}}", T_VALUE, "M0"),
    ("bug4", "{{if .Empty0}}non-nil{{else}}nil{{end}}", T_VALUE, "nil"),
    ("bug7a", "{{3 2}}", T_VALUE, None),
    ("bug7b", "{{$x := 1}}{{$x 2}}", T_VALUE, None),
    ("bug7c", "{{$x := 1}}{{3 | $x}}", T_VALUE, None),
    ("bug8a", "{{3|upper}}", T_VALUE, None),
    ("bug8b", "{{`x`|pad `a` 3}}", T_VALUE, None),
    ("bug9", "{{.cause}}", {"cause": "neglect"}, "neglect"),
    ("bug12xe", "{{printf `%T` 0xef}}", None, "int"),
    ("bug12XE", "{{printf `%T` 0XEE}}", None, "int"),
    ("bug13", "{{print (.GetU).V}}", T_VALUE, "v"),
    ("bug14a", "{{(nil).True}}", T_VALUE, None),
    ("bug14b", "{{$x := nil}}{{$x.anything}}", T_VALUE, None),
    ("bug14c", '{{$x := (1.0)}}{{$y := ("hello")}}{{$x.anything}}{{$y.true}}', T_VALUE, None),
    ("bug16a", "{{true|printf}}", T_VALUE, None),
    ("bug16b", "{{1|printf}}", T_VALUE, None),
    ("bug16c", "{{1.1|printf}}", T_VALUE, None),
    ("bug16d", "{{'x'|printf}}", T_VALUE, None),
    ("bug16e", "{{0i|printf}}", T_VALUE, None),
    ("bug16g", '{{"aaa" |printf "%s%s" "bbb"}}', T_VALUE, "bbbaaa"),
    ("bug16j", '{{1+2i|printf "%v"}}', T_VALUE, "(1+2i)"),
    ("bug16k", '{{"aaa"|printf }}', T_VALUE, "aaa"),
    ("bug18a", "{{eq . '.'}}", ord("."), "true"),
    ("bug18b", "{{eq . 'e'}}", ord("e"), "true"),
    # Comments, trim markers, templates.
    ("comment", "a{{/* a comment */}}b", None, "ab"),
    ("trim", "a  {{- 1 -}}  b {{- /* c */ -}} c", None, "a1bc"),
    ("trim keeps minus numbers", "{{-3}} {{- -3 -}} x", None, "-3-3x"),
    ("define and template", '{{define "x"}}<{{.}}>{{end}}{{template "x" 5}}', None, "<5>"),
    ("block", '{{block "b" 2}}[{{.}}]{{end}}', None, "[2]"),
    ("template without pipeline", '{{define "x"}}{{.}}{{end}}{{template "x"}}', 1,
     "<no value>"),
    ("undefined template", '{{template "nope"}}', None, None),
    ("recursive template", '{{define "a"}}{{template "a"}}{{end}}{{template "a"}}', None, None),
]


@pytest.mark.parametrize("name,template,data,expected", EXEC_CASES,
                         ids=[case[0] for case in EXEC_CASES])
def test_go_execution(name, template, data, expected):
    if expected is None:
        with pytest.raises(TemplateError):
            render(template, data)
    else:
        assert render(template, data) == expected


# Go's cmpTests, over a struct with Three = 3, NegOne = -1, and nils.
CMP_DATA = Struct({"Three": 3, "Four": 4, "NegOne": -1, "NilPtr": NIL_POINTER,
                   "NilMap": NIL_MAP, "Map": {"a": 1}, "V1": Struct({"j": 1}),
                   "V2": Struct({"j": 1}), "NilIface": None, "Iface1": "x"})
CMP_CASES = [
    ("eq true true", "true"), ("eq true false", "false"), ("eq 1+2i 1+2i", "true"),
    ("eq 1+2i 1+3i", "false"), ("eq 1.5 1.5", "true"), ("eq 1.5 2.5", "false"),
    ("eq 1 1", "true"), ("eq 1 2", "false"), ("eq `xy` `xy`", "true"),
    ("eq `xy` `xyz`", "false"), ("eq .Three .Three", "true"), ("eq .Three .Four", "false"),
    ("eq 3 4 5 6 3", "true"), ("eq 3 4 5 6 7", "false"), ("ne true true", "false"),
    ("ne true false", "true"), ("ne 1+2i 1+2i", "false"), ("ne 1+2i 1+3i", "true"),
    ("ne 1.5 1.5", "false"), ("ne 1.5 2.5", "true"), ("ne 1 1", "false"), ("ne 1 2", "true"),
    ("ne `xy` `xy`", "false"), ("ne `xy` `xyz`", "true"), ("lt 1.5 1.5", "false"),
    ("lt 1.5 2.5", "true"), ("lt 1 1", "false"), ("lt 1 2", "true"), ("lt `xy` `xy`", "false"),
    ("lt `xy` `xyz`", "true"), ("lt .Three .Four", "true"), ("le 1.5 1.5", "true"),
    ("le 1.5 2.5", "true"), ("le 2.5 1.5", "false"), ("le 1 1", "true"), ("le 1 2", "true"),
    ("le 2 1", "false"), ("le `xy` `xy`", "true"), ("le `xy` `xyz`", "true"),
    ("le `xyz` `xy`", "false"), ("gt 1.5 1.5", "false"), ("gt 1.5 2.5", "false"),
    ("gt 1 1", "false"), ("gt 2 1", "true"), ("gt 1 2", "false"), ("gt `xy` `xy`", "false"),
    ("gt `xy` `xyz`", "false"), ("ge 1.5 1.5", "true"), ("ge 1.5 2.5", "false"),
    ("ge 2.5 1.5", "true"), ("ge 1 1", "true"), ("ge 1 2", "false"), ("ge 2 1", "true"),
    ("ge `xy` `xy`", "true"), ("ge `xy` `xyz`", "false"), ("ge `xyz` `xy`", "true"),
    ("lt .NegOne .Three", "true"), ("gt .NegOne .Three", "false"),
    ("eq (index `x` 0) 'x'", "true"), ("eq (index `x` 0) 'y'", "false"),
    ("eq .V1 .V2", "true"), ("eq .NilPtr .NilPtr", "true"),
    ("eq .Iface1 .Iface1", "true"), ("eq .Iface1 .NilIface", "false"),
    ("eq .NilIface .NilIface", "true"), ("eq .NilIface .Iface1", "false"),
    ("eq .NilIface 0", "false"), ("eq 0 .NilIface", "false"),
    ("eq .NilMap nil", "true"), ("eq nil .NilMap", "true"), ("eq .NilMap .NilMap", "true"),
    # Errors.
    ("eq `xy` 1", None), ("eq 2 2.0", None), ("lt true true", None), ("lt 1+0i 1+0i", None),
    ("eq .Map .V1", None), ("eq .Map .Map", None), ("eq .V1", None), ("lt nil 1", None),
]


@pytest.mark.parametrize("expression,truth", CMP_CASES, ids=[c[0] for c in CMP_CASES])
def test_go_comparison(expression, truth):
    template = f"{{{{if {expression}}}}}true{{{{else}}}}false{{{{end}}}}"
    if truth is None:
        with pytest.raises(TemplateError):
            render(template, CMP_DATA)
    else:
        assert render(template, CMP_DATA) == truth


# Recorded from Go: its messages, with the position of what failed.
ERROR_CASES = [
    ("{{.Foo", {}, "template: :1: unclosed action"),
    ("{{.Foo}", {}, "template: :1: bad character U+007D '}'"),
    ("{{.Foo }", {}, 'template: :1: unexpected "}" in operand'),
    ("{{if}}", {}, "template: :1: missing value for if"),
    ("{{if .X}}", {}, "template: :1: unexpected EOF"),
    ("{{end}}", {}, "template: :1: unexpected {{end}}"),
    ("{{range .L}}{{else}}{{else}}{{end}}", {}, "template: :1: expected end; found {{else}}"),
    ("{{$x}}", {}, 'template: :1: undefined variable "$x"'),
    ("{{foo}}", {}, 'template: :1: function "foo" not defined'),
    ('{{"unterminated}}', {}, "template: :1: unterminated quoted string"),
    ("{{.X | \"a\"}}", {}, "template: :1: non executable command in pipeline stage 2"),
    ("{{break}}", {}, "template: :1: {{break}} outside {{range}}"),
    ("{{/* unclosed", {}, "template: :1: unclosed comment"),
    ("{{3x}}", {}, 'template: :1: bad number syntax: "3x"'),
    ("{{(1}}", {}, "template: :1: unclosed left paren"),
    ("{{1)}}", {}, "template: :1: unexpected right paren"),
    ("{{range $a, $b, $c := .}}{{end}}", {}, "template: :1: too many declarations in range"),
    ('a{{"\\q"}}', {}, "template: :1: invalid syntax"),
    ("{{'ab'}}", {}, "template: :1: malformed character constant: 'ab'"),
    ("{{99999999999999999999}}", {}, 'template: :1: integer overflow: "99999999999999999999"'),
    ("line1\n{{if\n .X}}", {}, "template: :3: unexpected EOF"),
    ("line1\nline2 {{.A", {}, "template: :2: unclosed action"),
    ("{{.Foo}}", Struct({"Id": "x"}), 'template: :1:2: executing "" at <.Foo>: map has no '
                                      'entry for key "Foo"'),
    ("{{.Foo}}", Struct({"Id": "x"}, "*formatter.ContainerContext"),
     'template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type '
     '*formatter.ContainerContext'),
    ("x\n  {{.S.X}}", {"S": "str"},
     'template: :2:6: executing "" at <.S.X>: can\'t evaluate field X in type string'),
    ("{{index .L 5}}", {"L": [1]},
     'template: :1:2: executing "" at <index .L 5>: error calling index: index out of range: 5'),
    ("{{join .L 1}}", {"L": ["a"]}, 'template: :1:10: executing "" at <1>: expected string; '
                                    'found 1'),
    ("{{len 3}}", {}, 'template: :1:2: executing "" at <len 3>: error calling len: len of '
                      'type int'),
    ("{{eq .S 1}}", {"S": "a"}, 'template: :1:2: executing "" at <eq .S 1>: error calling eq: '
                                'incompatible types for comparison'),
    ("{{printf}}", {}, 'template: :1:2: executing "" at <printf>: wrong number of args for '
                       'printf: want at least 1 got 0'),
    ("{{.M.a 1}}", {"M": {"a": 1}}, 'template: :1:4: executing "" at <.M.a>: a is not a method '
                                    'but has arguments'),
    ("{{range .S}}{{end}}", {"S": "str"},
     'template: :1:8: executing "" at <.S>: range can\'t iterate over str'),
    ("{{nil}}", {}, 'template: :1:2: executing "" at <nil>: nil is not a command'),
    ("{{(print 1).X}}", {}, 'template: :1:9: executing "" at <1>: can\'t evaluate field X in '
                            'type string'),
    ('{{truncate "abc" -1}}', {}, 'template: :1:2: executing "" at <truncate "abc" -1>: error '
                                  'calling truncate: runtime error: slice bounds out of range '
                                  '[:-1]'),
]


@pytest.mark.parametrize("template,data,message", ERROR_CASES,
                         ids=[repr(c[0]) for c in ERROR_CASES])
def test_go_error_messages(template, data, message):
    with pytest.raises(TemplateError) as raised:
        render(template, data)
    assert str(raised.value) == message


def test_execution_error_keeps_what_was_written():
    with pytest.raises(TemplateError) as raised:
        render("ab{{.X}}cd{{.Y.Z 1}}ef", Struct({"X": 1, "Y": {"Z": 2}}))
    assert raised.value.partial == "ab1cd"


# Recorded from Go's fmt, through text/template.
FORMAT_CASES = [
    ('{{printf "%05s|%-5s|%5.1s|%x|% x|%#x|%X" "ab" "ab" "xyz" "hi" "hi" "hi" "hi"}}',
     "000ab|ab   |    x|6869|68 69|0x6869|6869"),
    ('{{printf "%d|%5d|%-5d|%05d|%+d|%x|%#o|%O|%b|%c|%q|%U|%#U" 42 42 42 -42 42 255 8 8 5 65 65 '
     '65 65}}', "42|   42|42   |-0042|+42|ff|010|0o10|101|A|'A'|U+0041|U+0041 'A'"),
    ('{{printf "%v|%e|%f|%g|%.2f|%8.3f|%G|%E|%x|%b" 1e21 1234.5678 0.1 1e-5 3.14159 3.14159 '
     '1e100 1.5 3.0 1.0}}',
     "1e+21|1.234568e+03|0.100000|1e-05|3.14|   3.142|1E+100|1.500000E+00|0x1.8p+01|"
     "4503599627370496p-52"),
    ('{{printf "%s|%d" 1 "x"}}', "%!s(int=1)|%!d(string=x)"),
    ('{{printf "%d %d" 1}}', "1 %!d(MISSING)"),
    ('{{printf "%d" 1 2 "a"}}', "1%!(EXTRA int=2, string=a)"),
    ('{{printf "%" 1}}', "%!(NOVERB)%!(EXTRA int=1)"),
    ('{{printf "%z" 1}}', "%!z(int=1)"),
    ('{{printf "%t|%v|%s" true false nil}}', "true|false|%!s(<nil>)"),
    ('{{printf "%T %T %T %T %T" 1 1.5 "a" true nil}}', "int float64 string bool <nil>"),
    ('{{printf "%s|%v|%d|%q|%x" (split "a,b" ",") (split "a,b" ",") (split "a,b" ",") '
     '(split "a,b" ",") (split "a,b" ",")}}', '[a b]|[a b]|[%!d(string=a) %!d(string=b)]|'
                                              '["a" "b"]|[61 62]'),
    ('{{printf "%[2]d %[1]d" 1 2}}', "2 1"),
    ('{{printf "%*d|%.*f" 5 1 2 3.14159}}', "    1|3.14"),
    ('{{print 1 2 "a" "b" 3 nil true}}', "1 2ab3 <nil> true"),
    ('{{printf "%q" "a\\"\\n\\t\\x01é☺\\u2028"}}', '"a\\"\\n\\t\\x01é☺\\u2028"'),
    ('{{printf "%+q|%#q" "é" "ab"}}', '"\\u00e9"|`ab`'),
    ('{{printf "%v %v %v %v %v %v %v" 0.5 1e6 100000.0 1234567.0 0.0001 0.00001 123456789.0}}',
     "0.5 1e+06 100000 1.234567e+06 0.0001 1e-05 1.23456789e+08"),
    ('{{printf "%6.2v|%.3v|%10v|%-10v|" 3.14159 3.14159 "ab" 1.5}}',
     "   3.1|3.14|        ab|1.5       |"),
    ('{{printf "%#v %#v %+v" "a" 1 1.5}}', '"a" 1 1.5'),
    ('{{printf "%05x|%#08x|%+05d|%-6o|% 05d|%08.3e|%+.2f|%x" 255 255 7 8 -3 1234.5 -0.0 -255}}',
     "000ff|0x000000ff|+0007|10    |-0003|1.234e+03|-0.00|-ff"),
    ('{{print 0.1 0.2 0.30000000000000004 1e20 1e21 12345678.0 -1.5e-5}}',
     "0.1 0.2 0.30000000000000004 1e+20 1e+21 1.2345678e+07 -1.5e-05"),
]


@pytest.mark.parametrize("template,expected", FORMAT_CASES, ids=[c[0] for c in FORMAT_CASES])
def test_go_fmt(template, expected):
    assert render(template, None) == expected


# docker/cli templates/templates_test.go, and the functions' behaviour recorded from Docker.
DOCKER_CASES = [
    ("{{json .Ports}}", {"Ports": "0.0.0.0:2->8/udp"}, '"0.0.0.0:2->8/udp"'),
    ('{{join (split . ":") "/"}}', "text:with:colon", "text/with/colon"),
    ("this is a {{ . }}", "string", "this is a string"),
    ("{{truncate . 5}}", "tupx5xzf6hvsrhnruz5cr8gwp", "tupx5"),
    ("{{truncate . 25}}", "tupx5xzf6hvsrhnruz5cr8gwp", "tupx5xzf6hvsrhnruz5cr8gwp"),
    ("{{truncate . 30}}", "tupx5xzf6hvsrhnruz5cr8gwp", "tupx5xzf6hvsrhnruz5cr8gwp"),
    ("{{pad . 3 3}}", "tupx5xzf6hvsrhnruz5cr8gwp", "   tupx5xzf6hvsrhnruz5cr8gwp   "),
    ("{{truncate . 5}}|{{pad . 3 3}}|", "", "||"),
    ('{{title "hello wORLD foo_bar x-y"}} {{upper "abc"}} {{lower "ABC"}}', None,
     "Hello WORLD Foo_bar X-Y ABC abc"),
    ('{{json .}}', {"b": [1, 1.5, None, True], "a": "é<>&\u2028"},
     '{"a":"é<>&\\u2028","b":[1,1.5,null,true]}'),
    ('{{json 1.0}} {{json 1.5e-7}} {{json 1e21}} {{json .X}}', {}, "1 1.5e-7 1e+21 null"),
    ('{{json .}}', Struct({"Z": 1, "A": {"y": 1, "x": 2}}), '{"Z":1,"A":{"x":2,"y":1}}'),
    ('{{range $k, $v := .}}{{$k}}={{$v}};{{end}}', {"b": "2", "a": "1", "c": None},
     "a=1;b=2;c=<no value>;"),
    ('{{.Config.Labels}} {{index .Config.Labels "a"}}', {"Config": {"Labels": {"a": "1"}}},
     "map[a:1] 1"),
]


@pytest.mark.parametrize("template,data,expected", DOCKER_CASES,
                         ids=[c[0] for c in DOCKER_CASES])
def test_docker_functions(template, data, expected):
    assert render(template, data) == expected


def test_header_functions_keep_the_column_names():
    from runtime.gotemplate.functions import HEADER_FUNCTIONS
    template = Template('{{json .A}}|{{split .A ","}}|{{join .A ","}}|{{title .A}}|'
                        '{{lower .A}}|{{upper .A}}|{{truncate .A 2}}|{{pad .A 1 1}}')
    header = template.with_functions(HEADER_FUNCTIONS).execute({"A": "hello world"})
    assert header == "hello world|" * 7 + " hello world "
