import logging
from logging.config import fileConfig

from flask import current_app

from alembic import context

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def get_engine():
    return current_app.extensions['migrate'].db.engine


def get_engine_url():
    return get_engine().url.render_as_string(hide_password=False).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


def render_item(type_, obj, autogen_context):
    from sqlalchemy.types import TypeDecorator

    if type_ == "type" and isinstance(obj, TypeDecorator):
        return "sa." + repr(obj.impl)
    return False


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    # Our TypeDecorators (UTCDateTime, EncryptedText) are written into migrations as the
    # plain column types they store, so old migrations never import application code.
    conf_args.setdefault("render_item", render_item)
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        guard = _ForeignKeyGuard(connection) if sqlite else None
        run_args = dict(conf_args)  # the app keeps conf_args across runs: this run's callback stays here
        if guard is not None:
            run_args["on_version_apply"] = [*run_args.get("on_version_apply", []), guard.after_migration]
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            **run_args
        )

        if guard is not None:
            guard.start()
        ok = False
        try:
            with context.begin_transaction():
                context.run_migrations()
            ok = True
        finally:
            if guard is not None:
                guard.stop(ok)


class _ForeignKeyGuard:
    """SQLite alters a table by copying it and dropping the old one; with foreign keys
    enforced, that drop would cascade into (or be refused by) the rows that refer to the
    table. SQLite's own procedure: enforcement off for the change (outside a transaction,
    where the pragma takes effect), then check. Here the check runs at the end of each
    migration, inside its transaction, so a migration that breaks a reference is rolled
    back; only violations the run adds count (an old orphan row must not stop every later
    upgrade), and when nothing is pending nothing is scanned."""

    def __init__(self, connection):
        self.connection = connection
        self.before = None

    def _run(self, sql):
        return self.connection.connection.driver_connection.execute(sql).fetchall()

    def start(self):
        self._run("PRAGMA foreign_keys=OFF")
        from alembic.script import ScriptDirectory

        heads = set(ScriptDirectory.from_config(config).get_heads())
        # Read on the driver's connection: a query through SQLAlchemy's would open a
        # transaction, inside which the pragmas do nothing.
        try:
            current = {row[0] for row in self._run("SELECT version_num FROM alembic_version")}
        except Exception:
            current = set()
        if current != heads:  # something to upgrade
            self.before = set(self._run("PRAGMA foreign_key_check"))

    def after_migration(self, ctx, step, heads, run_args):
        if self.before is None or not step.is_upgrade:
            return
        added = set(self._run("PRAGMA foreign_key_check")) - self.before
        if added:
            raise RuntimeError(f"migration {step.up_revision_id} breaks foreign keys: {sorted(added)[:5]}")

    def stop(self, ok):
        # Alembic's own reads may have left a transaction open, inside which the pragma
        # would do nothing (and the pooled connection would keep enforcement off).
        if self.connection.in_transaction():
            self.connection.commit() if ok else self.connection.rollback()
        self._run("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
