{#- Elapsed days between two timestamps, with the fraction (datediff in days counts midnights). -#}
{% macro days_between(start_at, end_at) -%}
    ({{ dbt.datediff(start_at, end_at, 'second') }} / 86400.0)
{%- endmacro %}

{#- The latest of several nullable timestamps, null only when all are null (engines disagree on
    whether greatest() skips nulls, so every argument is made non-null first). -#}
{% macro latest_of(columns) -%}
    {%- set args = [] -%}
    {%- for i in range(columns | length) -%}
        {%- do args.append('coalesce(' ~ (columns[i:] + columns[:i]) | join(', ') ~ ')') -%}
    {%- endfor -%}
    greatest({{ args | join(', ') }})
{%- endmacro %}
