"""Splitting scripts on ``GO`` lines and batches into statements (T-SQL needs no ``;``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot.dialects.tsql import TSQL
from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import Token, TokenType

from mssql_emulator.contract import SqlError

_GO = re.compile(r"^\s*go(?:\s+(\d+))?\s*$", re.IGNORECASE)

_STARTERS = {
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "ALTER",
    "SET",
    "DECLARE",
    "USE",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "EXEC",
    "EXECUTE",
    "PRINT",
    "TRUNCATE",
    "MERGE",
    "SAVE",
    "RAISERROR",
    "THROW",
    "GRANT",
    "REVOKE",
    "DENY",
    "WAITFOR",
    "IF",
    "WHILE",
    "RETURN",
}
_SET_OPS = {"UNION", "ALL", "EXCEPT", "INTERSECT", "AS", "(", "DISTINCT"}


def split_go(script: str) -> list[str]:
    """Batches of a sqlcmd-style script; ``GO n`` repeats the batch n times."""
    batches: list[str] = []
    current: list[str] = []
    for line in script.splitlines():
        match = _GO.match(line)
        if match:
            text = "\n".join(current)
            if text.strip():
                batches.extend([text] * int(match.group(1) or 1))
            current = []
        else:
            current.append(line)
    text = "\n".join(current)
    if text.strip():
        batches.append(text)
    return batches


@dataclass
class Statement:
    text: str
    line: int


def _word(tok: Token) -> str:
    return (
        tok.text.upper()
        if tok.token_type not in (TokenType.STRING, TokenType.NATIONAL_STRING)
        else ""
    )


def _continues(first: str, words: list[str], word: str, prev: str, following: str) -> bool:
    """Whether starter keyword ``word`` continues the statement begun by ``first``."""
    if first == "MERGE":
        return True
    if prev in ("ON", "INSTEAD", "FOR", "AFTER", ",") and word in ("DELETE", "UPDATE", "INSERT"):
        return True
    if word == "SELECT":
        if prev in _SET_OPS or (prev == ")" and first == "WITH" and "SELECT" not in words):
            return True
        if first == "INSERT" and "SELECT" not in words and "VALUES" not in words:
            return True
        if first == "WITH" and not {"SELECT", "INSERT", "UPDATE", "DELETE"} & set(words):
            return True
        return first in ("CREATE", "ALTER") and prev == "AS"
    if word in ("INSERT", "UPDATE", "DELETE") and first == "WITH":
        return not {"SELECT", "INSERT", "UPDATE", "DELETE"} & set(words)
    if word == "SET":
        updating = first in ("UPDATE", "ALTER") or (first == "WITH" and "UPDATE" in words)
        return updating and "SET" not in words
    if word in ("DROP", "ALTER") and first == "ALTER":
        # ALTER TABLE t DROP COLUMN c / ALTER COLUMN c; not a new DROP TABLE statement.
        return following in ("COLUMN", "CONSTRAINT", "PERIOD", "")
    if word in ("EXEC", "EXECUTE") and first == "INSERT":
        return True
    if word == "IF" and first == "DROP" and following == "EXISTS":
        return True  # DROP TABLE IF EXISTS t
    return word in ("BEGIN", "COMMIT", "ROLLBACK") and prev in ("BEGIN", "COMMIT", "ROLLBACK")


_NOT_BLOCK = {"TRAN", "TRANSACTION", "DISTRIBUTED", "TRY", "CATCH", "DIALOG", "CONVERSATION"}


def _block_end(tokens: list[Token], index: int) -> int:
    """Index of the END closing the BEGIN at ``index`` (CASE … END pairs skipped)."""
    level = 0
    for i in range(index, len(tokens)):
        word = _word(tokens[i])
        if (word == "BEGIN" and _following(tokens, i) not in _NOT_BLOCK) or word == "CASE":
            level += 1
        elif word == "END":
            level -= 1
            if level == 0:
                return i
    raise SqlError(102, "Incorrect syntax near 'BEGIN'.", severity=15)


def block_body(text: str) -> str | None:
    """The inside of a ``BEGIN … END`` block statement, else None."""
    words = text.split(None, 1)
    if len(words) == 2 and words[0].upper() == "BEGIN" and text.rstrip()[-3:].upper() == "END":
        following = words[1].split(None, 1)[0].upper()
        if following not in _NOT_BLOCK:
            return text.strip()[5:-3]
    return None


def _following(tokens: list[Token], index: int) -> str:
    return _word(tokens[index + 1]) if index + 1 < len(tokens) else ""


def split_statements(batch: str) -> list[Statement]:
    """The statements of one batch, split on ``;`` and on statement-starting keywords."""
    try:
        tokens = TSQL().tokenize(batch)
    except TokenError as exc:
        raise SqlError(
            105, "Unclosed quotation mark after the character string ''.", severity=15
        ) from exc
    statements: list[Statement] = []
    start: int | None = None
    line = 1
    first = ""
    words: list[str] = []
    prev = ""
    depth = 0
    end = 0

    def flush() -> None:
        if start is not None:
            statements.append(Statement(batch[start : end + 1].strip(), line))

    case_depth = 0
    index = 0
    while index < len(tokens):
        tok = tokens[index]
        if tok.token_type == TokenType.SEMICOLON and depth == 0:
            flush()
            start, first, words, prev = None, "", [], ""
            index += 1
            continue
        word = _word(tok)
        if depth == 0 and word == "BEGIN" and _following(tokens, index) not in _NOT_BLOCK:
            # A BEGIN … END block is one unit; its inner statements are split when it runs.
            flush()
            close = _block_end(tokens, index)
            statements.append(Statement(batch[tok.start : tokens[close].end + 1], tok.line))
            start, first, words, prev = None, "", [], ""
            index = close + 1
            continue
        if word == "CASE":
            case_depth += 1
        elif word == "END" and case_depth:
            case_depth -= 1
        if depth == 0 and word == "ELSE" and case_depth == 0:
            flush()
            statements.append(Statement("ELSE", tok.line))
            start, first, words, prev = None, "", [], ""
            index += 1
            continue
        following = _following(tokens, index)
        starts = word in _STARTERS or (word == "WITH" and following == "CHANGE_TRACKING_CONTEXT")
        if (
            depth == 0
            and start is not None
            and starts
            and not _continues(first, words, word, prev, following)
        ):
            flush()
            start = None
        if start is None:
            start, line, first, words = tok.start, tok.line, word, []
        if tok.token_type == TokenType.L_PAREN:
            depth += 1
        elif tok.token_type == TokenType.R_PAREN:
            depth = max(0, depth - 1)
        elif depth == 0 and word:
            words.append(word)
        end = tok.end
        prev = word if tok.token_type != TokenType.R_PAREN else ")"
        index += 1
    flush()
    return [s for s in statements if s.text]
