"""The weekly PDF briefing for leaders ("Báo cáo tuần").

content.py builds every figure and sentence of a week (from dashboard.metrics and dashboard.db),
charts.py draws its charts as PNG through kaleido, render.py lays it out with Jinja2 and
WeasyPrint. `python -m dashboard brief` and the page pages/briefing.py both call
`render.render_briefing`.
"""
