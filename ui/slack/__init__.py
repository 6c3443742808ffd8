"""The Slack door: each Slack thread is one agent conversation.

ui/slack_app.py builds the Bolt app and wires the handlers; the parts it wires live here, one
concern each: `dedupe` (Slack retries and replays), `threads` (Slack thread <-> agent thread,
owners, one turn at a time per thread), `blocks` (Block Kit rendering of agent events and
approvals), `stream` (post, then update a reply as the turn streams), `files` (download files
shared in a thread into the workspace) and `door` (what happens for a message, a button, a modal).
"""
