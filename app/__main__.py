"""`python -m app` and the `trellis` command.

Ctrl-C before a command has set up its own way of stopping (while Python is still loading
it, say) ends it with one line and exit status 130, as for any interrupted command, rather
than a traceback of whatever was being loaded.
"""

import signal
import sys


def main() -> None:
    try:
        from app.cli.main import main as trellis

        trellis()
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C changes nothing now
        from app.cli import INTERRUPTED

        print("Stopped.", file=sys.stderr)
        sys.exit(INTERRUPTED)


if __name__ == "__main__":
    main()
