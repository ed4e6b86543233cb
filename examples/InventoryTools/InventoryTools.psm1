# InventoryTools: a small module that tracks hardware assets in a CSV inventory.
# Written for the docroute examples; it has no documentation on purpose.

$script:InventoryPath = Join-Path -Path $PSScriptRoot -ChildPath 'inventory.csv'

function Get-InventoryItem {
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Position = 0)]
        [string] $Name = '*',

        [ValidateSet('Laptop', 'Desktop', 'Monitor', 'Phone')]
        [string] $Category,

        [string] $Path = $script:InventoryPath
    )

    if (-not (Test-Path -LiteralPath $Path)) {
        return
    }
    $items = Import-Csv -LiteralPath $Path
    $items = $items | Where-Object { $_.Name -like $Name }
    if ($Category) {
        $items = $items | Where-Object { $_.Category -eq $Category }
    }
    $items
}

function Add-InventoryItem {
    [CmdletBinding(SupportsShouldProcess)]
    param(
        [Parameter(Mandatory, ValueFromPipelineByPropertyName)]
        [string] $Name,

        [Parameter(Mandatory, ValueFromPipelineByPropertyName)]
        [ValidateSet('Laptop', 'Desktop', 'Monitor', 'Phone')]
        [string] $Category,

        [Parameter(ValueFromPipelineByPropertyName)]
        [string] $Owner = $env:USERNAME,

        [datetime] $PurchaseDate = (Get-Date),

        [string] $Path = $script:InventoryPath
    )

    process {
        if (Get-InventoryItem -Name $Name -Path $Path) {
            throw "An item named '$Name' already exists in $Path."
        }
        $record = [pscustomobject]@{
            Name         = $Name
            Category     = $Category
            Owner        = $Owner
            PurchaseDate = $PurchaseDate.ToString('yyyy-MM-dd')
        }
        if ($PSCmdlet.ShouldProcess($Name, 'Add inventory item')) {
            $record | Export-Csv -LiteralPath $Path -Append -NoTypeInformation
        }
    }
}

function Remove-InventoryItem {
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    param(
        [Parameter(Mandatory, ValueFromPipeline)]
        [string[]] $Name,

        [string] $Path = $script:InventoryPath
    )

    begin {
        $remaining = @(Import-Csv -LiteralPath $Path)
        $removed = 0
    }
    process {
        foreach ($n in $Name) {
            if ($PSCmdlet.ShouldProcess($n, 'Remove inventory item')) {
                $before = $remaining.Count
                $remaining = @($remaining | Where-Object { $_.Name -ne $n })
                $removed += $before - $remaining.Count
            }
        }
    }
    end {
        $remaining | Export-Csv -LiteralPath $Path -NoTypeInformation
        Write-Verbose "Removed $removed item(s)."
    }
}

function Get-InventoryReport {
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [ValidateRange(1, 3650)]
        [int] $OlderThanDays = 1095,

        [switch] $AsMarkdown
    )

    $cutoff = (Get-Date).AddDays(-$OlderThanDays)
    $old = Get-InventoryItem | Where-Object { [datetime]$_.PurchaseDate -lt $cutoff }
    $byCategory = $old | Group-Object -Property Category | Sort-Object -Property Count -Descending
    if ($AsMarkdown) {
        '| Category | Items due for replacement |'
        '| --- | --- |'
        foreach ($group in $byCategory) {
            "| $($group.Name) | $($group.Count) |"
        }
    }
    else {
        foreach ($group in $byCategory) {
            '{0,-10} {1,5}' -f $group.Name, $group.Count
        }
    }
}

Export-ModuleMember -Function Get-InventoryItem, Add-InventoryItem, Remove-InventoryItem, Get-InventoryReport
