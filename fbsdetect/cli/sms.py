"""`fbsdetect sms categorize [FILE]`: the category of each SMS text (the 14
of the FBS Spam SMS Dataset, Zhang et al., ACM CCS 2020), one JSON line
`{"text", "category", "score"}` per input line. Input: FILE or stdin, plain
text one message a line, or JSON lines with "text". Model: `fbsdetect.sms`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO

from fbsdetect.errors import BadInput
from fbsdetect.i18n import _, lazy

NAME = "sms"
HELP = lazy("SMS captured from fake cells: categorize texts (spam categories of the FBS SMS dataset)")
BATCH = 512


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="sms_command", required=True, metavar="COMMAND", help=_("categorize"))
    c = sub.add_parser("categorize", help=_("print {text, category, score} per input line"),
                       description=_("The category of each SMS text (the 14 of the FBS Spam SMS Dataset, "
                                     "Zhang et al., ACM CCS 2020), one JSON line {text, category, score} "
                                     "per input line. Input: FILE or stdin, plain text one message a line, "
                                     "or JSON lines with \"text\"."))
    c.add_argument("file", nargs="?", default="-", metavar="FILE",
                   help=_('texts one a line, or JSON lines with "text"; "-" or absent: stdin'))
    c.add_argument("--baseline", action="store_true",
                   help=_("the plain keyword baseline instead of the model"))


def _texts(stream: IO[str], name: str) -> list[str]:
    out = []
    for lineno, line in enumerate(stream, start=1):
        s = line.rstrip("\n")
        if not s.strip():
            continue
        if s.lstrip().startswith("{"):
            try:
                d = json.loads(s)
            except json.JSONDecodeError as e:
                raise BadInput(_("not valid JSON ({error} at column {column})").format(
                    error=e.msg, column=e.colno), source=f"{name}:{lineno}") from None
            if not isinstance(d, dict) or not isinstance(d.get("text"), str):
                raise BadInput(_("a JSON line needs a string field 'text'"), source=f"{name}:{lineno}")
            out.append(d["text"])
        else:
            out.append(s)
    return out


def run(args: argparse.Namespace) -> int:
    if args.file == "-":
        texts = _texts(sys.stdin, "<stdin>")
    else:
        try:
            with open(args.file, encoding="utf-8") as fh:
                texts = _texts(fh, args.file)
        except FileNotFoundError:
            raise BadInput(_("no such file"), source=args.file) from None
        except UnicodeDecodeError:
            raise BadInput(_("is not UTF-8 text"), source=args.file) from None
        except OSError as e:
            raise BadInput(_("cannot read: {error}").format(error=e.strerror), source=args.file) from None
    out = sys.stdout
    if args.baseline:
        from fbsdetect.sms.keywords import predict

        for t in texts:
            row = {"text": t, "category": predict(t), "score": None}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return 0
    from fbsdetect.sms.model import load_default

    model = load_default()
    for k in range(0, len(texts), BATCH):
        chunk = texts[k:k + BATCH]
        for t, (cat, score) in zip(chunk, model.predict(chunk), strict=True):
            out.write(json.dumps({"text": t, "category": cat, "score": score}, ensure_ascii=False) + "\n")
    return 0
