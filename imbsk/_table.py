"""Writing result rows (a list of flat dicts) as CSV and markdown, without a dataframe dependency."""

import csv


def _fmt(value, digits):
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def to_markdown(rows, columns=None, digits=3):
    """Render rows as a GitHub-flavoured markdown table."""
    if not rows:
        return ""
    columns = list(rows[0]) if columns is None else list(columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(_fmt(row.get(c, ""), digits) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def write_csv(rows, path, columns=None):
    """Write rows to ``path`` as CSV with a header line."""
    columns = list(rows[0]) if columns is None else list(columns)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
