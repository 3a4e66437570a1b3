"""Who may see what: roles and what each may do (`roles`), the rows a user may see (`scope`), the signed-in
person (`identity`). Pure Python: no Streamlit, no database. The query layer applies a `Scope`; the web layer
(`dashboard.web.auth`) finds the `User` of a browser session; the CLI builds one with `--as NAME`."""
