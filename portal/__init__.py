"""The portal: the small public web app behind the signed links of mails (no account, French, usable on a phone),
served by `passerelles portal`. One module per party: `volunteers` (apply, preferences, unsubscribe),
`associations` (approve the annonce or ask for a revision, validate the roadmap, give the bilan: each resumes the
mission's suspended step through the Prefect API, as the UI does); `pages` the shared page helpers; `app` the
application and its entry point.

Every page is reached by a signed, expiring, single-purpose link (tasks/links.py). A tampered, expired or misused
link, or any refusal, gets a French page and changes nothing; routing is on the refusal's type
(models/refusals.py), never on its wording. Tokens are kept out of logs (no access log) and out of referrers; pages
load nothing from another host.
"""
