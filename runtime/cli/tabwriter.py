"""Go's text/tabwriter, as Docker's tables use it: cells end at a tab, a column is as wide
as its widest cell plus the padding (at least `minwidth`), a column block ends at the first
line without a cell in that column, and the last cell of a line is never padded.

    align("CONTAINER ID\\tNAMES\\nabc\\tweb\\n")   # NewWriter(out, 10, 1, 3, ' ', 0)
"""


def align(text: str, minwidth: int = 10, padding: int = 3, padchar: str = " ") -> str:
    """`text` as tabwriter.NewWriter(out, minwidth, 1, padding, padchar, 0) writes it."""
    return _Writer(text, minwidth, padding, padchar).result()


class _Writer:
    def __init__(self, text: str, minwidth: int, padding: int, padchar: str):
        self.lines = [line.split("\t") for line in text.split("\n")]
        self.minwidth = minwidth
        self.padding = padding
        self.padchar = padchar
        self.widths: list[int] = []
        self.out: list[str] = []

    def result(self) -> str:
        self.format(0, len(self.lines))
        return "".join(self.out)

    def format(self, line0: int, line1: int) -> None:
        column = len(self.widths)
        this = line0
        while this < line1:
            if column >= len(self.lines[this]) - 1:
                this += 1
                continue
            # A cell in this column: a column block starts here.
            self.write_lines(line0, this)
            line0 = this
            width = self.minwidth
            while this < line1 and column < len(self.lines[this]) - 1:
                width = max(width, len(self.lines[this][column]) + self.padding)
                this += 1
            self.widths.append(width)
            self.format(line0, this)
            self.widths.pop()
            line0 = this
            this += 1
        self.write_lines(line0, line1)

    def write_lines(self, line0: int, line1: int) -> None:
        for index in range(line0, line1):
            for column, cell in enumerate(self.lines[index]):
                self.out.append(cell)
                if column < len(self.widths):
                    self.out.append(self.padchar * (self.widths[column] - len(cell)))
            if index + 1 < len(self.lines):
                self.out.append("\n")
