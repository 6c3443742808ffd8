"""An example Tunesmith plugin: a tool that counts the words of a text.

A plugin is a ToolSpec (or a list of them, or a function returning either) named by an entry
point in the `tunesmith.tools` group; the registry validates it like a built-in.
"""

from pydantic import BaseModel, Field

from tools.registry import ToolContext, ToolResult, ToolSpec


class WordCountArgs(BaseModel):
    text: str = Field(min_length=1, max_length=100_000, description="The text to count.")


def count_words(args: WordCountArgs, ctx: ToolContext) -> ToolResult:
    words = len(args.text.split())
    return ToolResult(f"{words} words.", {"words": words})


WORD_COUNT = ToolSpec(
    name="word_count",
    description="Count the words of a text, e.g. to check an answer against a length limit.",
    args_schema=WordCountArgs,
    run=count_words,
    examples=(
        "how many words is this?",
        "count the words in my draft",
        "word count of this paragraph please",
    ),
)
