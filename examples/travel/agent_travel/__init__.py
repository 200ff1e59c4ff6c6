"""agent-travel: an example travel API (cities, airports, flights, hotels, weather, currency)
served by a real aiohttp app, and an ``agent`` plugin that registers its tools from it.

- ``agent_travel.server``: the service (``python -m agent_travel.server --port 8765``).
- ``agent_travel.plugin``: the plugin (entry point ``travel``); active when ``AGENT_TRAVEL_URL``
  is set; ``travel_tools(base_url)`` for embedding.
"""

__version__ = "0.1.0"
