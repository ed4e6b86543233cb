Set-StrictMode -Version Latest

function Get-InventoryItem {
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory, ValueFromPipeline)]
        [string[]]$Name,

        [ValidateRange(1, 100)]
        [int]$Limit = 10,

        [switch]$IncludeRetired
    )

    process {
        foreach ($item in $Name) {
            # A plain comment inside the body: not help.
            [pscustomobject]@{ Name = $item; Limit = $Limit; Retired = [bool]$IncludeRetired }
        }
    }
}

function Remove-InventoryItem {
    param([Parameter(Mandatory)][string]$Path, [string]$Reason = 'obsolete')
    if (Test-Path -LiteralPath $Path) {
        Remove-Item -LiteralPath $Path -WhatIf
    }
    "$Path removed: $Reason"
}

filter ConvertTo-Upper { $_.ToUpperInvariant() }
