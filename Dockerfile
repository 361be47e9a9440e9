# One image for every Skiff server process; the command picks which (python -m api|scheduler|agent).
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# bubblewrap is the agent's sandbox.
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/skiff

# The dependencies first, from pyproject.toml pinned by constraints.txt: a code change does not reinstall them.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['gpu']))" > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Editable, because the migrations are found beside the code (alembic.ini, migrations/).
COPY . .
RUN pip install --no-deps -e . \
    && useradd --system --uid 10001 --home-dir /var/lib/skiff --create-home skiff \
    && mkdir -p /var/lib/skiff/agent \
    && chown -R skiff:skiff /var/lib/skiff

# The API and the scheduler run unprivileged; docker-compose.yml runs the agent as root (see there why).
USER skiff
EXPOSE 8000
CMD ["python", "-m", "api", "serve"]
