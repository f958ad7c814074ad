"""
The seams between the use cases and the outside world, as Protocols: one module per
side of the gateway. Adapters implement them without inheriting from them; the records that
cross them are in `quickotp.domain`.

* store.py      what each use case needs of the database, one Protocol per consumer
* people.py     the panel's people, sessions and audit log; the panel's own reads
* transport.py  SMS upstreams and their live state
* outbox.py     this process's dispatcher and admission control, as the accept sees them
* limits.py     the counters behind the fraud guard and the idempotency window
* routes.py     the configured routes as the operator changes them, and their URLs' check
"""
