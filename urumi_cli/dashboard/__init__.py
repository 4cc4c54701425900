"""`urumi dashboard`: the store fleet in a browser, served on 127.0.0.1 by the standard library.

Imported only by `urumi dashboard` (cli/dashboard.py imports it inside the command), never by
`urumi --help` or any other command. fleet.py is the one module that calls urumi's actions.
"""
