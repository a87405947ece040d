FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY eduexact_site eduexact_site
COPY plugin plugin
COPY sync sync
COPY sandbox sandbox
RUN pip install --no-cache-dir .
COPY . .
RUN SECRET_KEY=build TOKEN_ENCRYPTION_KEY=build python manage.py collectstatic --noinput -v0
RUN useradd --create-home eduexact && chown -R eduexact /app
USER eduexact
EXPOSE 8000
CMD ["gunicorn", "eduexact_site.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "30"]
