"""The fixed vocabulary of the synthetic platform: AI providers and models with list prices, plans, genres, names.

Prices are integers in units of 1e-8 USD per token (DECIMAL(10,8) exactly): $2.50 per million tokens is 250.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Provider:
    name: str
    api_endpoint: str
    cost_per_token: int  # 1e-8 USD, a blended list price shown in the provider admin page
    status: str


@dataclass(frozen=True)
class Model:
    provider: str
    name: str
    version: str
    context_window: int
    max_tokens: int
    input_price: int  # 1e-8 USD per prompt token
    output_price: int  # 1e-8 USD per completion token
    ms_per_token: float  # median generation speed, drives latency
    early_weight: float  # share of traffic at the start of the history ...
    late_weight: float  # ... and at the end: newer models take over
    status: str = "active"


PROVIDERS = (
    Provider("OpenAI", "https://api.openai.com/v1", 500, "active"),
    Provider("Anthropic", "https://api.anthropic.com/v1", 900, "active"),
    Provider("Google", "https://generativelanguage.googleapis.com/v1beta", 250, "active"),
    Provider("Mistral", "https://api.mistral.ai/v1", 400, "active"),
    Provider("Cohere", "https://api.cohere.com/v2", 600, "inactive"),
)

MODELS = (
    Model("OpenAI", "gpt-4o", "2024-08-06", 128_000, 16_384, 250, 1_000, 9.0, 0.22, 0.14),
    Model("OpenAI", "gpt-4o-mini", "2024-07-18", 128_000, 16_384, 15, 60, 5.0, 0.20, 0.16),
    Model("OpenAI", "gpt-4.1", "2025-04-14", 1_047_576, 32_768, 200, 800, 8.0, 0.00, 0.14),
    Model("OpenAI", "gpt-4-turbo", "2024-04-09", 128_000, 4_096, 1_000, 3_000, 18.0, 0.08, 0.00, "deprecated"),
    Model("Anthropic", "claude-3-5-sonnet", "20241022", 200_000, 8_192, 300, 1_500, 12.0, 0.18, 0.16),
    Model("Anthropic", "claude-3-5-haiku", "20241022", 200_000, 8_192, 80, 400, 6.0, 0.06, 0.09),
    Model("Anthropic", "claude-3-opus", "20240229", 200_000, 4_096, 1_500, 7_500, 25.0, 0.05, 0.02),
    Model("Google", "gemini-1.5-pro", "002", 2_000_000, 8_192, 125, 500, 10.0, 0.07, 0.05),
    Model("Google", "gemini-2.0-flash", "001", 1_048_576, 8_192, 10, 40, 4.0, 0.02, 0.12),
    Model("Mistral", "mistral-large", "2411", 128_000, 8_192, 200, 600, 11.0, 0.05, 0.06),
    Model("Mistral", "mistral-small", "2409", 32_000, 8_192, 20, 60, 5.0, 0.03, 0.06),
    Model("Cohere", "command-r-plus", "08-2024", 128_000, 4_096, 250, 1_000, 12.0, 0.04, 0.00, "deprecated"),
)


@dataclass(frozen=True)
class Plan:
    name: str
    tier: str
    price_cents: int
    billing_cycle: str
    ai_tokens_included: int
    projects_limit: int
    collaborators_limit: int
    weight: float  # how often a paying customer picks it
    status: str = "active"


FREE_PLAN = 0  # index into PLANS
PLANS = (
    Plan("Free", "free", 0, "monthly", 20_000, 1, 0, 0.0),
    Plan("Basic Monthly", "basic", 999, "monthly", 200_000, 3, 1, 0.30),
    Plan("Basic Yearly", "basic", 9_900, "yearly", 200_000, 3, 1, 0.08),
    Plan("Premium Monthly", "premium", 2_499, "monthly", 1_000_000, 10, 5, 0.26),
    Plan("Premium Yearly", "premium", 24_900, "yearly", 1_000_000, 10, 5, 0.10),
    Plan("Enterprise Monthly", "enterprise", 9_900, "monthly", 5_000_000, 100, 50, 0.08),
    Plan("Enterprise Yearly", "enterprise", 99_000, "yearly", 5_000_000, 100, 50, 0.04),
    Plan("Author Lifetime", "premium", 29_900, "one-time", 500_000, 10, 3, 0.05),
    Plan("Starter (legacy)", "basic", 499, "monthly", 100_000, 2, 0, 0.09, "deprecated"),
)
TIERS = ("free", "basic", "premium", "enterprise")

# genre, weight, (min, max) target words in thousands, audience
GENRES = (
    ("fantasy", 0.16, (70, 120), "adults"),
    ("romance", 0.15, (50, 90), "adults"),
    ("mystery", 0.10, (60, 90), "adults"),
    ("thriller", 0.09, (70, 100), "adults"),
    ("science_fiction", 0.09, (80, 120), "adults"),
    ("young_adult", 0.08, (50, 80), "young_adult"),
    ("children", 0.05, (5, 20), "children"),
    ("self_help", 0.08, (30, 60), "general"),
    ("business", 0.07, (30, 60), "professionals"),
    ("biography", 0.04, (60, 100), "general"),
    ("historical", 0.05, (80, 120), "adults"),
    ("horror", 0.04, (60, 90), "adults"),
)

TITLE_ADJECTIVES = (
    "Silent",
    "Hidden",
    "Last",
    "Broken",
    "Golden",
    "Crimson",
    "Forgotten",
    "Endless",
    "Quiet",
    "Wild",
    "Lost",
    "Burning",
    "Secret",
    "Distant",
    "Fragile",
    "Iron",
    "Midnight",
    "Winter",
    "Hollow",
    "Bright",
)
TITLE_NOUNS = (
    "Harbor",
    "Kingdom",
    "Promise",
    "Garden",
    "Letter",
    "River",
    "Crown",
    "Signal",
    "Orchard",
    "Archive",
    "Shadow",
    "Frontier",
    "Lighthouse",
    "Compass",
    "Empire",
    "Tide",
    "Mirror",
    "Habit",
    "Playbook",
    "Journey",
)
FIRST_NAMES = (
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Ava",
    "Elijah",
    "Sophia",
    "Lucas",
    "Mia",
    "Mateo",
    "Amelia",
    "Hiro",
    "Isabella",
    "Arjun",
    "Chloe",
    "Kofi",
    "Zoe",
    "Ivan",
    "Leila",
    "Santiago",
    "Nora",
    "Wei",
    "Hannah",
    "Omar",
    "Grace",
    "Yuki",
    "Clara",
    "Tariq",
    "Ingrid",
    "Diego",
    "Priya",
    "Malik",
)
LAST_NAMES = (
    "Smith",
    "Garcia",
    "Nguyen",
    "Muller",
    "Rossi",
    "Kowalski",
    "Tanaka",
    "Okafor",
    "Silva",
    "Dubois",
    "Novak",
    "Jensen",
    "Khan",
    "Lopez",
    "Brown",
    "Ivanova",
    "Haddad",
    "Kim",
    "Patel",
    "Andersson",
    "Moreau",
    "Costa",
    "Fischer",
    "Walsh",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com", "writers.example")
TIMEZONES = (
    ("America/New_York", 0.22),
    ("America/Los_Angeles", 0.12),
    ("Europe/London", 0.12),
    ("Europe/Berlin", 0.10),
    ("UTC", 0.10),
    ("Asia/Kolkata", 0.08),
    ("Australia/Sydney", 0.06),
    ("Asia/Tokyo", 0.05),
    ("America/Sao_Paulo", 0.08),
    ("Europe/Paris", 0.07),
)
LANGUAGES = (("en", 0.72), ("es", 0.08), ("de", 0.06), ("fr", 0.05), ("pt", 0.05), ("ja", 0.04))
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
)
PAGES = ("/dashboard", "/projects", "/editor", "/library", "/templates", "/settings", "/billing", "/help", "/explore")
LANDING_PAGES = ("/", "/pricing", "/features", "/blog", "/signup", "/login")
REFERRERS = ("https://www.google.com/", "https://duckduckgo.com/", "https://www.reddit.com/", "https://x.com/")
EXPORT_FORMATS = ("pdf", "epub", "docx", "mobi")
ERROR_MESSAGES = (
    "rate_limit_exceeded: provider returned 429",
    "context_length_exceeded: prompt too long for the model",
    "upstream_timeout: no response within 120 s",
    "content_filter: response blocked by the provider's safety system",
    "provider_error: 503 service unavailable",
)
# name, category, genre (None: any), prompt
TEMPLATES = (
    ("Chapter outline", "outline", None, "Outline chapter {chapter} of my {genre} book in ten beats."),
    ("Next scene", "drafting", None, "Continue the story from where chapter {chapter} ends, keeping the voice."),
    ("Dialogue polish", "editing", None, "Tighten the dialogue in this passage and keep each character distinct."),
    ("Show, don't tell", "editing", None, "Rewrite this paragraph to show the emotion through action."),
    ("Blurb writer", "marketing", None, "Write a back-cover blurb of 150 words for my {genre} book."),
    ("Character sheet", "planning", None, "Create a character sheet for the protagonist of my {genre} story."),
    ("Magic system", "planning", "fantasy", "Design a magic system with clear costs for my fantasy world."),
    ("Meet-cute", "drafting", "romance", "Draft a meet-cute between the two leads in a bookshop."),
    ("Clue trail", "planning", "mystery", "Plant three fair clues in chapter {chapter} that point to the culprit."),
    ("Cliffhanger", "drafting", "thriller", "End chapter {chapter} on a cliffhanger that raises the stakes."),
    ("Worldbuilding brief", "planning", "science_fiction", "Describe the technology and politics of the colony."),
    ("Bedtime rhyme", "drafting", "children", "Write a gentle rhyming page about a sleepy fox."),
    ("Actionable steps", "drafting", "self_help", "Turn this idea into five actionable steps with examples."),
    ("Case study", "drafting", "business", "Write a short case study illustrating the principle in chapter {chapter}."),
    ("Period detail", "research", "historical", "List period-accurate details for a market scene in 1890 Vienna."),
    ("Dread builder", "drafting", "horror", "Build slow dread in a quiet house at night, no gore."),
    ("Line edit", "editing", None, "Line-edit this passage for rhythm and clarity; keep my word choices."),
    ("Title ideas", "marketing", None, "Suggest ten titles for a {genre} book about {topic}."),
)
WORDS = (
    "the",
    "light",
    "river",
    "morning",
    "she",
    "he",
    "they",
    "walked",
    "along",
    "quiet",
    "street",
    "and",
    "found",
    "a",
    "letter",
    "under",
    "door",
    "it",
    "was",
    "written",
    "in",
    "careful",
    "blue",
    "ink",
    "nobody",
    "had",
    "seen",
    "for",
    "years",
    "wind",
    "carried",
    "voices",
    "from",
    "harbor",
    "where",
    "ships",
    "waited",
    "old",
    "promise",
    "between",
    "them",
    "felt",
    "heavier",
    "than",
    "stone",
    "every",
    "step",
    "closer",
    "to",
    "house",
    "made",
    "memory",
    "sharper",
    "garden",
    "was",
    "overgrown",
    "with",
    "roses",
    "silence",
    "answered",
    "question",
    "map",
    "showed",
    "path",
    "through",
    "forest",
    "night",
    "fell",
    "slowly",
    "over",
    "city",
    "lanterns",
    "glowed",
    "story",
    "began",
    "again",
    "when",
    "she",
    "opened",
    "book",
    "of",
    "names",
    "truth",
    "waited",
    "at",
    "end",
)
