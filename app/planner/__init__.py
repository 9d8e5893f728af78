"""The planner workspace: server-rendered pages under /planner/ over the same services as the JSON API."""
