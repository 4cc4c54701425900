"""Shared by every suite."""

import signal

# A job a non-interactive shell starts in the background (`cmd &`, nohup) inherits SIGINT ignored,
# and so would every urumi the tests start: their Ctrl-C cases would then test nothing. A signal
# with a handler is reset to its default in the children at exec, so give it one.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
