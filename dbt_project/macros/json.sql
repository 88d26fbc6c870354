{#- JSON access is the one thing SQL dialects disagree on; staging models go through these. -#}

{% macro json_text(column, path) -%}
    {{ return(adapter.dispatch('json_text', 'journey')(column, path)) }}
{%- endmacro %}

{% macro default__json_text(column, path) -%}
    json_extract_string({{ column }}, '$.{{ path }}')
{%- endmacro %}

{% macro spark__json_text(column, path) -%}
    get_json_object({{ column }}, '$.{{ path }}')
{%- endmacro %}

{% macro json_number(column, path) -%}
    {{ dbt.safe_cast(json_text(column, path), api.Column.translate_type('double')) }}
{%- endmacro %}

{% macro json_integer(column, path) -%}
    {{ dbt.safe_cast(json_text(column, path), api.Column.translate_type('bigint')) }}
{%- endmacro %}

{#- One row per element of a JSON array column: yields `element` (JSON) and `element_index`
    (0-based), keeping every other selected column. -#}
{% macro json_array_rows(relation, column, keep_columns) -%}
    {{ return(adapter.dispatch('json_array_rows', 'journey')(relation, column, keep_columns)) }}
{%- endmacro %}

{% macro default__json_array_rows(relation, column, keep_columns) -%}
    select
        {% for c in keep_columns %}{{ c }}, {% endfor %}
        json_extract({{ column }}, '$[' || element_index || ']') as element,
        element_index
    from (
        select *, unnest(range(cast(json_array_length({{ column }}) as bigint))) as element_index
        from {{ relation }}
        where json_type({{ column }}) = 'ARRAY'
    ) as exploded
{%- endmacro %}

{% macro spark__json_array_rows(relation, column, keep_columns) -%}
    select
        {% for c in keep_columns %}{{ c }}, {% endfor %}
        element,
        element_index
    from {{ relation }}
    lateral view posexplode(from_json({{ column }}, 'array<string>')) as element_index, element
{%- endmacro %}

{#- A JSON sub-document (array or object) of a JSON column. -#}
{% macro json_value(column, path) -%}
    {{ return(adapter.dispatch('json_value', 'journey')(column, path)) }}
{%- endmacro %}

{% macro default__json_value(column, path) -%}
    json_extract({{ column }}, '$.{{ path }}')
{%- endmacro %}

{% macro spark__json_value(column, path) -%}
    get_json_object({{ column }}, '$.{{ path }}')
{%- endmacro %}
