using System;
using System.Collections.Generic;
using System.Linq;

namespace Acme.Billing
{
    /// <summary>
    /// A customer invoice with its line items.
    /// </summary>
    [Serializable]
    public sealed class Invoice<TLine> : IDisposable where TLine : ILineItem
    {
        private readonly List<TLine> _lines = new();

        public Invoice(string number, DateTime issued, decimal discount = 0m)
        {
            if (string.IsNullOrWhiteSpace(number))
            {
                throw new ArgumentException("An invoice needs a number.", nameof(number));
            }
            Number = number;
            Issued = issued;
            Discount = discount;
        }

        public string Number { get; }
        public DateTime Issued { get; }
        public decimal Discount { get; }

        // Totals are computed on demand.
        public decimal Total() => _lines.Sum(line => line.Amount) * (1 - Discount);

        public decimal Total(Func<TLine, bool> filter)
        {
            return _lines.Where(filter).Sum(line => line.Amount) * (1 - Discount);
        }

        [Obsolete("Use AddRange instead.")]
        public void Add(TLine line, params string[] tags)
        {
            _lines.Add(line ?? throw new ArgumentNullException(nameof(line)));
        }

        public bool TryFind(string sku, out TLine? found)
        {
            found = _lines.FirstOrDefault(line => line.Sku == sku);
            return found is not null;
        }

        public IEnumerable<TLine> Overdue(int days = 30)
        {
            foreach (var line in _lines)
            {
                if ((DateTime.Now - Issued).TotalDays > days)
                {
                    yield return line;
                }
            }
        }

        public void Dispose() => _lines.Clear();
    }

    public interface ILineItem
    {
        string Sku { get; }
        decimal Amount { get; }

        decimal AmountWithTax(decimal rate);
    }

    public readonly struct Money
    {
        public Money(decimal amount, string currency = "EUR") { Amount = amount; Currency = currency; }

        public decimal Amount { get; }
        public string Currency { get; }
    }

    public record Customer(string Name, string Email);
}
