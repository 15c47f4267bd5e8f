//! CSV as spreadsheets write it (RFC 4180): cells separated by commas, rows by CRLF or LF, a
//! cell in double quotes may hold commas, newlines and `""` for a quote; UTF-8 with or without
//! the BOM Excel's 「CSV UTF-8」 puts first. Small and strict on purpose (no `csv` crate in the
//! workspace for four columns): a quote that is never closed, or text after a closing quote, is
//! an error naming its line, and a file that is not UTF-8 (Excel's plain 「CSV」 in a Chinese
//! locale is GBK) is refused with what to do instead.

/// One row: its cells, the line it starts on (1-based, as an editor counts) and its position
/// among the rows (1-based, as a spreadsheet numbers them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub row: usize,
    pub cells: Vec<String>,
}

impl Row {
    /// The cell at `n`, trimmed; empty when the row is shorter.
    pub fn cell(&self, n: usize) -> &str {
        self.cells.get(n).map_or("", |c| c.trim())
    }

    /// Whether every cell is blank (spreadsheets export trailing `,,,` rows).
    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| c.trim().is_empty())
    }

    /// `line 7 (row 5)`: where an editor and a spreadsheet show the row.
    pub fn at(&self) -> String {
        format!("line {} (row {})", self.line, self.row)
    }
}

/// Reads every row of `bytes`.
pub fn read(bytes: &[u8]) -> Result<Vec<Row>, String> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes
            .get(..e.valid_up_to())
            .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
            + 1;
        format!(
            "line {line}: not UTF-8 (a spreadsheet's plain CSV in a Chinese locale is GBK): save as 「CSV UTF-8」 (Excel) or UTF-8 CSV (WPS, Numbers, LibreOffice)"
        )
    })?;
    let mut rows = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut cells = Vec::new();
        let mut cell = String::new();
        // Whether the current cell was quoted (and the quote closed).
        let mut quoted = false;
        loop {
            match chars.next() {
                None => {
                    cells.push(std::mem::take(&mut cell));
                    break;
                }
                Some('"') if cell.trim().is_empty() && !quoted => {
                    // A quoted cell (spaces before the quote are dropped).
                    cell.clear();
                    loop {
                        match chars.next() {
                            None => {
                                return Err(format!("line {start}: a quoted cell is never closed"));
                            }
                            Some('"') if chars.peek() == Some(&'"') => {
                                chars.next();
                                cell.push('"');
                            }
                            Some('"') => break,
                            Some('\r') if chars.peek() == Some(&'\n') => {}
                            Some(c) => {
                                if c == '\n' {
                                    line += 1;
                                }
                                cell.push(c);
                            }
                        }
                    }
                    quoted = true;
                }
                Some(',') => {
                    cells.push(std::mem::take(&mut cell));
                    quoted = false;
                }
                Some('\r') if chars.peek() == Some(&'\n') => {}
                Some('\n') => {
                    line += 1;
                    cells.push(std::mem::take(&mut cell));
                    break;
                }
                Some(c) if quoted && !c.is_whitespace() => {
                    return Err(format!(
                        "line {line}: {c:?} after a quoted cell's closing quote (a quote inside a quoted cell is written \"\")"
                    ));
                }
                // Spaces after a closing quote.
                Some(_) if quoted => {}
                Some(c) => cell.push(c),
            }
        }
        rows.push(Row {
            line: start,
            row: rows.len() + 1,
            cells,
        });
    }
    Ok(rows)
}

/// One row of CSV (no line end): cells quoted when they hold a comma, a quote, a line break
/// or spaces at either end.
pub fn write_row(cells: &[&str]) -> String {
    cells
        .iter()
        .map(|cell| {
            let plain = !cell.contains([',', '"', '\n', '\r']) && cell.trim() == *cell;
            if plain {
                (*cell).to_owned()
            } else {
                format!("\"{}\"", cell.replace('"', "\"\""))
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cells(text: &str) -> Vec<Vec<String>> {
        read(text.as_bytes())
            .unwrap()
            .into_iter()
            .map(|r| r.cells)
            .collect()
    }

    #[test]
    fn quoted_cells_hold_commas_quotes_and_line_breaks() {
        assert_eq!(
            cells("a,\"b, c\",\"say \"\"hi\"\"\"\r\n\"x\r\ny\",,z\r\n"),
            [vec!["a", "b, c", "say \"hi\""], vec!["x\ny", "", "z"]]
        );
    }

    #[test]
    fn lines_and_rows_are_counted_as_editors_and_spreadsheets_do() {
        let rows = read("\u{feff}h1,h2\n\"one\ntwo\nthree\",x\nlast,y".as_bytes()).unwrap();
        let at: Vec<(usize, usize)> = rows.iter().map(|r| (r.line, r.row)).collect();
        assert_eq!(at, [(1, 1), (2, 2), (5, 3)]);
        assert_eq!(
            rows[0].cells,
            ["h1", "h2"],
            "the BOM is not part of the header"
        );
        assert_eq!(
            rows[2].cells,
            ["last", "y"],
            "a last row without a line end"
        );
    }

    #[test]
    fn broken_quotes_and_other_encodings_are_errors_with_the_line() {
        assert_eq!(
            read(b"a,b\nc,\"open\n\n").unwrap_err(),
            "line 2: a quoted cell is never closed"
        );
        assert!(
            read(b"a,b\n\"x\"y,z\n")
                .unwrap_err()
                .starts_with("line 2: 'y' after a quoted cell's closing quote")
        );
        assert!(
            read(b"a\nb\n\xcd\xcb\n")
                .unwrap_err()
                .starts_with("line 3: not UTF-8")
        );
    }

    #[test]
    fn written_rows_read_back_the_same() {
        let row = [
            "refund",
            " spaced ",
            "a,b",
            "say \"hi\"",
            "line\nbreak",
            "",
            "退款",
        ];
        let text = write_row(&row);
        assert_eq!(cells(&text), [row.to_vec()]);
        assert_eq!(write_row(&["a", "退款"]), "a,退款");
    }
}
