{#- The moment every model is evaluated as of: var('as_of') (ISO 8601, naive = UTC), else the
    start of this dbt invocation, so that all models of one run agree on "now". Events after it
    are ignored everywhere (see stg_segment__messages). -#}

{% macro as_of_iso() %}
    {%- set raw = var('as_of', none) -%}
    {%- if raw is none or raw == '' -%}
        {%- set ts = run_started_at.astimezone(modules.pytz.utc).replace(tzinfo=none) -%}
    {%- else -%}
        {%- set text = (raw.isoformat() if raw is not string else raw) | trim -%}
        {#- Jinja unescapes string literals, hence the doubled backslashes. -#}
        {%- set pattern = '^\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,6})?)?)?(Z|[+-]\\d{2}:?\\d{2})?$' -%}
        {%- if not modules.re.match(pattern, text) -%}
            {{ exceptions.raise_compiler_error(
                "var 'as_of' must be an ISO 8601 timestamp such as 2026-11-30T00:00:00Z, got '"
                ~ text ~ "'") }}
        {%- endif -%}
        {%- set ts = modules.datetime.datetime.fromisoformat(text.replace('Z', '+00:00')) -%}
        {%- if ts.tzinfo is not none -%}
            {%- set ts = ts.astimezone(modules.pytz.utc).replace(tzinfo=none) -%}
        {%- endif -%}
    {%- endif -%}
    {{- return(ts.strftime('%Y-%m-%d %H:%M:%S.%f')) -}}
{% endmacro %}

{% macro as_of() -%}
    cast('{{ as_of_iso() }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}
