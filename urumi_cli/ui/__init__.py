"""Everything that reaches a terminal: consoles, table/json/yaml writers, progress displays."""
