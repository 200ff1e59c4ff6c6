"""Bridges to other ecosystems (LangChain tools, model providers, OpenAPI, MCP)."""
