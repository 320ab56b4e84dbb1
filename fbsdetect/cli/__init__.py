"""The command line: one module per subcommand, registered in `SUBCOMMANDS`.

Each module exposes `NAME`, `HELP`, `configure(parser)` and `run(args) -> int`.
CLI modules are thin: they parse arguments, call the library and map errors
to exit codes; heavy imports happen inside `run`.
"""

# The one place where subcommands are registered (module names in this package).
SUBCOMMANDS: tuple[str, ...] = (
    "simulate",
    "decode",
    "decode_bursts",
    "sms",
    "registry",
    "scan",
    "hunt",
    "calibrate",
    "detections",
    "analyze",
    "map",
    "report",
    "handover",
    "export",
    "verify",
    "node",
    "serve",
    "user",
    "db",
    "doctor",
    "completion",
)
