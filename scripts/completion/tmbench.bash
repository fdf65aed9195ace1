# bash completion for tmbench: subcommands, each one's flags, and the values that have a closed
# list (allocator and workload names from `tmbench list` itself, presets, formats, metrics).
# Installed to <prefix>/share/bash-completion/completions/tmbench; to try it from the source
# tree: . scripts/completion/tmbench.bash

# The names under one heading of `tmbench list` ("allocators" or "workloads").
_tmbench_names() {
    "${COMP_WORDS[0]}" list 2>/dev/null | awk -v want="$1:" '
        /^[a-z]+:/ { in_it = ($1 == want); next }
        in_it && /^  [a-z]/ { print $1 }'
}

_tmbench() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local cmds="list run merge plot compare export record trace-info help"
    local metrics="ops_per_sec slice_ops_per_sec ns_per_op lat_p50_ns lat_p99_ns lat_p999_ns free_p99_ns peak_rss_kib end_rss_kib pool_bytes_reserved instructions_per_op"
    COMPREPLY=()
    if [ "$COMP_CWORD" -eq 1 ]; then
        mapfile -t COMPREPLY < <(compgen -W "$cmds --version --help" -- "$cur")
        return
    fi
    local cmd=${COMP_WORDS[1]} flags=""
    case $cmd in
        run) flags="--preset --allocators --workloads --threads --sizes --reps --target --budget --duration --ops
                    --timeout --pin --out --resume --shard --seed --sample --measure --against --duet --interleave -p --help" ;;
        merge) flags="--out --allow-partial --help" ;;
        plot) flags="--baseline --format --out --latency-workload --templates --help" ;;
        compare) flags="--baseline --metric --threshold --alpha --format --allow-missing --help" ;;
        export) flags="--format --metric --out --help" ;;
        record) flags="--out --help" ;;
        trace-info | list) flags="--help" ;;
        help) mapfile -t COMPREPLY < <(compgen -W "${cmds% help}" -- "$cur"); return ;;
    esac
    # a comma list completes its last element
    local head="" last=$cur
    case $prev in
        --allocators | --workloads)
            [[ $cur == *,* ]] && head=${cur%,*}, last=${cur##*,}
            local kind=allocators
            [ "$prev" = --workloads ] && kind=workloads
            mapfile -t COMPREPLY < <(compgen -P "$head" -W "$(_tmbench_names "$kind") all" -- "$last")
            return ;;
        --preset) mapfile -t COMPREPLY < <(compgen -W "quick ci real full" -- "$cur"); return ;;
        --measure) mapfile -t COMPREPLY < <(compgen -W "time instructions" -- "$cur"); return ;;
        --metric) mapfile -t COMPREPLY < <(compgen -W "$metrics" -- "$cur"); return ;;
        --latency-workload) mapfile -t COMPREPLY < <(compgen -W "$(_tmbench_names workloads)" -- "$cur"); return ;;
        --baseline)
            [ "$cmd" = plot ] || [ "$cmd" = compare ] &&
                mapfile -t COMPREPLY < <(compgen -W "$(_tmbench_names allocators)" -- "$cur")
            return ;;
        --format)
            case $cmd in
                plot) mapfile -t COMPREPLY < <(compgen -W "png svg both" -- "$cur") ;;
                compare) mapfile -t COMPREPLY < <(compgen -W "text markdown csv json" -- "$cur") ;;
                export) mapfile -t COMPREPLY < <(compgen -W "gbench-json bmf" -- "$cur") ;;
            esac
            return ;;
        --out | --resume | --against | --templates)
            mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return ;;
        --threads | --sizes | --reps | --target | --budget | --duration | --ops | --timeout | --shard | --seed | \
            --sample | --interleave | --threshold | --alpha | -p)
            return ;;
    esac
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur")
    else
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
}
complete -F _tmbench tmbench
